#!/usr/bin/env bash
# gen_man_commands.sh - rewrite the COMMANDS section of docs/facenet.1 and the
# per-command option lists of scripts/facenet.bash-completion from the option tables,
# as `facenet CMD --help` prints them (src/cli/options.c), so the man page and the
# completion list what the program parses.  tests/test_cli_conventions.c checks they
# agree; run this after adding a command or an option:
#   make && bash scripts/gen_man_commands.sh [build/facenet] [docs/facenet.1] [completion]
set -euo pipefail
FN=${1:-build/facenet}
MAN=${2:-docs/facenet.1}
COMP=${3:-scripts/facenet.bash-completion}
[ -x "$FN" ] || { echo "gen_man_commands: $FN is not built" >&2; exit 2; }
roff() { sed -e 's/\\/\\\\/g' -e 's/-/\\-/g'; }
cap() { awk '{ print toupper(substr($0, 1, 1)) substr($0, 2) (substr($0, length($0)) == "." ? "" : ".") }'; }
section=$(mktemp)
trap 'rm -f "$section"' EXIT
# the command names, in the order `facenet --help` lists them
cmds=$("$FN" --help | awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')
for c in $cmds; do
    help=$("$FN" "$c" --help)
    synopsis=$(printf '%s\n' "$help" | sed -n 's/^usage: //p' | head -n 1)
    summary=$(printf '%s\n' "$help" | sed -n '3p')
    printf '.SS "%s"\n' "$(printf '%s' "$synopsis" | roff)" >> "$section"
    printf '%s\n' "$summary" | cap | roff >> "$section"
    # the command's own options: the lines of the "options:" block
    printf '%s\n' "$help" | awk '/^options:/ { on = 1; next } on && /^$/ { exit } on { print }' |
    while IFS= read -r line; do
        spec=$(printf '%s' "$line" | sed -E 's/^ +//; s/ {2,}.*$//')
        text=$(printf '%s' "$line" | sed -E 's/^ +[^ ].*[^ ] {2,}//')
        short=$(printf '%s' "$spec" | sed -n -E 's/^-(.), .*/\1/p')
        long=$(printf '%s' "$spec" | sed -E 's/^-., //; s/^--//; s/ .*$//')
        meta=$(printf '%s' "$spec" | sed -n -E 's/^(-., )?--[^ ]+ (.+)$/\2/p')
        {
            echo ".TP"
            out=""
            [ -n "$short" ] && out="\\fB\\-$short\\fR, "
            out="$out\\fB\\-\\-$(printf '%s' "$long" | sed 's/-/\\-/g')\\fR"
            [ -n "$meta" ] && out="$out \\fI$(printf '%s' "$meta" | roff)\\fR"
            echo "$out"
            printf '%s\n' "$text" | cap | roff
        } >> "$section"
    done
done
# splice: everything before ".SH COMMANDS", the new section, from ".SH COMMON OPTIONS" on
tmp=$(mktemp)
awk -v sec="$section" '
    /^\.SH COMMANDS/ { print; while ((getline l < sec) > 0) print l; skip = 1; next }
    /^\.SH COMMON OPTIONS/ { skip = 0 }
    !skip { print }' "$MAN" > "$tmp"
mv "$tmp" "$MAN"
# the completion: the command list and one `NAME) opts="..." ;;` line per command
lines=$(mktemp)
for c in $cmds; do
    o=$("$FN" "$c" --help | awk '/^options:/ { on = 1; next } on && /^$/ { exit } on { print }' |
        sed -E 's/^ +//; s/ {2,}.*$//; s/^(-.), /\1 /; s/ [^-][^ ]*$//' | tr '\n' ' ' | sed 's/ *$//')
    printf '        %s) opts="%s" ;;\n' "$c" "$o" >> "$lines"
done
tmp=$(mktemp)
awk -v lines="$lines" -v cmds="$(echo $cmds) help" '
    /^    local commands=/ { print "    local commands=\"" cmds "\""; next }
    /^    case \$cmd in/ { print; while ((getline l < lines) > 0) print l; skip = 1; next }
    skip && /^        help\)/ { skip = 0 }
    !skip { print }' "$COMP" > "$tmp"
mv "$tmp" "$COMP"
rm -f "$lines"
echo "gen_man_commands: $MAN, $COMP: $(echo $cmds | wc -w) commands"
