#!/usr/bin/env bash
# check_structure.sh - the layering rules of docs/architecture.md, checked on the tree:
#   src/core includes only core; src/io and src/layers include no net/, app/ or cli/
#   header (io not layers either); src/net no app/ or cli/ header; no getenv in the
#   library's engine (core, io, layers, net); no .c file in src/ or tools/ over 600 lines.
# Prints each violation and exits 1 if there is any.
set -u
cd "$(dirname "$0")/.."
bad=0
violate() { echo "structure: $*"; bad=1; }
includes() { grep -Hn '^#include "' "$@" 2>/dev/null; }
while IFS= read -r l; do violate "$l (core includes only core)"; done < <(includes src/core/*.[ch] | grep -v '#include "core/')
while IFS= read -r l; do violate "$l (io may include core and io only)"; done < <(includes src/io/*.[ch] | grep -E '#include "(net|app|cli|layers)/')
while IFS= read -r l; do violate "$l (layers may include core and layers only)"; done < <(includes src/layers/*.[ch] | grep -E '#include "(net|app|cli|io)/')
while IFS= read -r l; do violate "$l (net may not include app or cli)"; done < <(includes src/net/*.[ch] | grep -E '#include "(app|cli)/')
while IFS= read -r l; do violate "$l (the engine reads no environment)"; done < <(grep -Hn 'getenv' src/core/*.[ch] src/io/*.[ch] src/layers/*.[ch] src/net/*.[ch])
for f in src/*/*.c tools/*.c tools/lib/*.c; do
    [ -f "$f" ] || continue
    n=$(wc -l < "$f")
    [ "$n" -le 600 ] || violate "$f: $n lines (at most 600)"
done
[ $bad -eq 0 ] && echo "structure: layering, environment and file-size rules hold"
exit $bad
