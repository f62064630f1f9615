#!/usr/bin/env bash
# check-fresh.sh - does the README's first command work on a machine that has none of
# the project's packages?  Run by hand (not in CI), as root or with sudo, with network
# access to the Debian mirror and the npm registry.  It changes the machine's packages
# for a few minutes: builds of anything else using them meanwhile will fail.
#
#   1. removes the Debian packages scripts/setup.sh installs (apt-get remove: no purge,
#      nothing else unless listed and confirmed, see below);
#   2. clones this repository (the commit checked out here; uncommitted changes are not
#      part of the test) into a temporary directory;
#   3. runs `make demo` there, once: it must reinstall the packages, build, fetch and
#      convert the default model and run the office scenario, at the first attempt;
#   4. prints PASS or FAIL (and the log on failure), then reinstalls anything removed in
#      step 1 that is still missing, with its automatic/manual mark as before.
#
# Packages apt could not reinstall at the installed version (e.g. nodejs from a
# third-party repository that is no longer configured) are kept and listed: removing
# them could not be undone.  build-essential is a metapackage: the compiler stays.
# When removing the packages would take others with them (packages that depend on
# them, e.g. tk-dev on libpng-dev), they are listed and the script asks before going
# on (-y: do not ask); they are reinstalled in step 4.
#
# Usage: scripts/check-fresh.sh [-y]
#        scripts/check-fresh.sh --chroot [--test] [--user] [--keep] [--rebuild] [DIR]
# --chroot leaves this machine's packages alone: it runs `make demo` (and with --test
# `make test`) in a Debian 12 system made with debootstrap in DIR (default
# /var/tmp/facenet-fresh), fresh for every run; scripts/check-fresh-chroot.sh says how.
# Use it where this mode answers NOT RUN (a package apt could not put back) or when the
# machine runs another Debian release.
# Environment: FACENET_SHARED (the shared data; default ../shared beside this checkout,
# made absolute since the clone lives elsewhere).  Exit status: 0 PASS, 1 FAIL,
# 2 not run.
set -uo pipefail

# --chroot: the same check on a Debian 12 built with debootstrap (check-fresh-chroot.sh)
if [ "${1:-}" = --chroot ]; then
    shift
    exec bash "$(dirname "$0")/check-fresh-chroot.sh" "$@"
fi

yes=0
[ "${1:-}" = -y ] && yes=1
here=$(cd "$(dirname "$0")/.." && pwd)
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
say() { echo "check-fresh: $*" >&2; }
notrun() { say "$*"; echo "NOT RUN"; exit 2; }

command -v apt-get >/dev/null 2>&1 || notrun "apt-get not found (a Debian-like system is needed)"
shared=${FACENET_SHARED:-$here/../shared}
[ -d "$shared" ] || notrun "FACENET_SHARED=$shared does not exist (the demo needs the course photos)"
shared=$(cd "$shared" && pwd)
head=$(git -C "$here" rev-parse HEAD) || notrun "$here is not a git checkout"
[ -z "$(git -C "$here" status --porcelain --untracked-files=no)" ] ||
    say "note: uncommitted changes in $here are not part of the test (the clone has $head)"

$SUDO apt-get update -qq || notrun "apt-get update failed"

installed_version() { dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | sed -n 's/^install ok installed //p'; }
# 0 when a configured repository offers the installed version of $1
reinstallable() {
    local v
    v=$(installed_version "$1")
    [ -n "$v" ] && apt-cache madison "$1" 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF -- "$v"
}

ours=()
while IFS= read -r p; do
    [ -n "$(installed_version "$p")" ] || continue
    if reinstallable "$p"; then
        ours+=("$p")
    else
        say "keeping $p $(installed_version "$p"): apt cannot reinstall that version"
    fi
done < <(bash "$here/scripts/setup.sh" --list)
[ ${#ours[@]} -gt 0 ] || notrun "none of the packages of scripts/setup.sh is installed: nothing to remove"

# Everything `apt-get remove` would take, and the packages beyond ours in it.
mapfile -t all < <(apt-get -s remove "${ours[@]}" 2>/dev/null | awk '$1 == "Remv" {print $2}' | sed 's/:.*//')
extra=()
for p in "${all[@]}"; do
    printf '%s\n' "${ours[@]}" | grep -qxF -- "$p" || extra+=("$p")
done
for p in "${extra[@]}"; do
    reinstallable "$p" || notrun "removing ${ours[*]} would also remove $p, which apt could not reinstall"
done
say "removing: ${ours[*]}"
if [ ${#extra[@]} -gt 0 ]; then
    say "this also removes (they depend on the above; reinstalled at the end): ${extra[*]}"
    if [ "$yes" = 0 ]; then
        [ -t 0 ] || notrun "not confirmed (run with -y)"
        read -r -p "go on? [y/N] " ans
        [ "$ans" = y ] || [ "$ans" = Y ] || notrun "not confirmed"
    fi
fi
mapfile -t auto < <(apt-mark showauto "${all[@]}" 2>/dev/null)

tmp=$(mktemp -d /tmp/facenet-fresh.XXXXXX)
restore() {
    local missing=() p
    for p in "${all[@]}"; do
        [ -n "$(installed_version "$p")" ] || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        say "reinstalling what is still missing: ${missing[*]}"
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
            say "WARNING: reinstalling failed; run: apt-get install ${missing[*]}"
    fi
    [ ${#auto[@]} -eq 0 ] || $SUDO apt-mark auto "${auto[@]}" >/dev/null
}
trap restore EXIT

DEBIAN_FRONTEND=noninteractive $SUDO apt-get remove -y -qq "${all[@]}" >/dev/null || {
    say "apt-get remove failed"
    echo FAIL
    exit 1
}
if pkg-config --exists openblas libcjson hdf5 libjpeg libpng sqlite3 cmocka 2>/dev/null; then
    say "the libraries are still visible to pkg-config after the removal"
    echo FAIL
    exit 1
fi

log=$tmp/make-demo.log
say "cloning $here ($head) into $tmp/facenet-c"
if ! git clone -q "$here" "$tmp/facenet-c" || ! git -C "$tmp/facenet-c" checkout -q --detach "$head"; then
    say "git clone failed"
    echo FAIL
    exit 1
fi
say "running make demo there (log: $log)"
start=$(date +%s)
(cd "$tmp/facenet-c" && FACENET_SHARED="$shared" make demo) >"$log" 2>&1
rc=$?
secs=$(( $(date +%s) - start ))

fail=()
[ "$rc" -eq 0 ] || fail+=("make demo exited with status $rc")
for p in "${ours[@]}"; do
    case $p in nodejs | npm) command -v npm >/dev/null 2>&1 && continue ;; esac
    [ -n "$(installed_version "$p")" ] || fail+=("$p was not reinstalled")
done
# the identifications the README's Quick start shows (the demo prints full paths)
mapfile -t expect < <(grep -E '^camera_[0-9]+\.jpg: ' "$tmp/facenet-c/README.md")
[ ${#expect[@]} -gt 0 ] || fail+=("no expected demo output found in README.md")
for line in "${expect[@]}"; do
    grep -qF -- "/$line" "$log" || fail+=("the demo did not print: $line")
done

if [ ${#fail[@]} -eq 0 ]; then
    say "make demo succeeded at the first attempt in ${secs} s, printed the README's ${#expect[@]} identifications and reinstalled ${ours[*]}"
    rm -rf "$tmp"
    echo PASS
    exit 0
fi
printf 'check-fresh: %s\n' "${fail[@]}" >&2
say "last lines of $log:"
tail -n 30 "$log" >&2
echo FAIL
exit 1
