#!/usr/bin/env bash
# check-fresh-chroot.sh - the README's first command on a freshly installed Debian 12,
# built here with debootstrap: run as `scripts/check-fresh.sh --chroot [options] [DIR]`
# (that is the documented entry point; it runs this file).  By hand, as root, not in CI;
# it needs the Debian mirror and the npm registry, and leaves this machine's packages
# alone.
#
#   1. installs debootstrap with apt-get if it is missing;
#   2. builds, once, a base system in DIR/base (default DIR: /var/tmp/facenet-fresh):
#      `debootstrap --variant=minbase bookworm` (the .debs cached in DIR/debs-*.tgz),
#      the apt sources of a Debian 12 installation (bookworm, bookworm-updates,
#      bookworm-security), and only what the README's Quick start assumes a user has
#      before `make demo`: git (to clone), make (to type `make demo`) and ca-certificates
#      (which git and npm need for https: a normal installation has it).  This machine's
#      local CA certificates (/usr/local/share/ca-certificates) go in too: the network
#      here reaches the mirror and the registry through them; a real machine does not
#      need them.  apt's package lists are then deleted, as on a machine that never ran
#      `apt-get update`.  DIR/base is reused while DIR/base.ok matches this recipe;
#   3. every run starts from a pristine copy of DIR/base (an overlay whose upper layer,
#      DIR/run/upper, is emptied first; a full copy where overlayfs is not available),
#      in a private mount namespace (unshare -m) holding /proc, /sys, /dev and the
#      shared data read-only at /src/shared (FACENET_SHARED: the README's default
#      ../shared beside the clone);
#   4. clones the repository there (the commit checked out here, through a git bundle:
#      uncommitted changes are not part of the test) into /src/facenet-c and runs
#      `make demo` in it once, as root, as CI would: no terminal, stdin /dev/null, an
#      environment of PATH, HOME, LANG only (plus any http(s)_proxy of this machine);
#      with --test it then runs `make test` there too (10+ minutes); with --user, as the
#      user dev instead, who has sudo without a password (sudo is installed for it: the
#      README says "as root or with sudo");
#   5. prints PASS or FAIL (exit 0 or 1; 2: not run) with the time taken: make demo must
#      exit 0 and print the identifications the README shows, make test must exit 0 and
#      end with "N passed, 0 failed".  The logs stay in DIR/run/upper/src/ until the next
#      run (with --keep, the whole chroot: DIR/run/root is then a copy, not an overlay).
#
# Usage: scripts/check-fresh.sh --chroot [--test] [--user] [--keep] [--rebuild] [DIR]
#   --rebuild  rebuild DIR/base (the .deb cache is kept)
# Environment: FACENET_SHARED (the shared data, default ../shared beside this checkout);
# MIRROR (default http://deb.debian.org/debian).
set -uo pipefail
# The whole script is one block, read before it runs: editing this file (or checking out
# another commit) during a run cannot change what the run does.
{
say() { echo "check-fresh: $*" >&2; }
notrun() { say "$*"; echo "NOT RUN"; exit 2; }

test_too=0 keep=0 rebuild=0 user=0 inside=0 dir=/var/tmp/facenet-fresh
while [ $# -gt 0 ]; do
    case $1 in
    --test) test_too=1 ;;
    --keep) keep=1 ;;
    --rebuild) rebuild=1 ;;
    --user) user=1 ;;
    --inside) inside=1; shift; break ;;   # internal: the part that runs in the mount namespace
    -*) notrun "unknown option $1 (usage: check-fresh.sh --chroot [--test] [--user] [--keep] [--rebuild] [DIR])" ;;
    *) dir=$1 ;;
    esac
    shift
done

SUITE=bookworm
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${MIRROR%/debian}/debian-security
PREREQS=(git make ca-certificates)
# what DIR/base was made from: a different recipe rebuilds it
RECIPE="$SUITE minbase $MIRROR ${PREREQS[*]} $(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null | sha256sum | cut -c1-16) v1"
# the environment `make demo` gets: a fresh login's, plus this machine's proxy if any
chroot_env() {
    local v
    printf '%s\n' PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
    if [ "$user" = 1 ]; then
        printf '%s\n' HOME=/home/dev USER=dev LOGNAME=dev
    else
        printf '%s\n' HOME=/root
    fi
    for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
        [ -n "${!v:-}" ] && printf '%s=%s\n' "$v" "${!v}"
    done
}

# ---- inside the private mount namespace: mount, clone, make demo [, make test]
if [ "$inside" = 1 ]; then
    root=$1 shared=$2 bundle=$3 run=$4
    umount_all() {
        local m
        # deepest first; the namespace drops them anyway when it ends
        for m in $(awk -v r="$root" '$5 == r || index($5, r "/") == 1 {print $5}' /proc/self/mountinfo | sort -r); do
            umount -l "$m" 2>/dev/null
        done
    }
    trap umount_all EXIT
    mount -t proc proc "$root/proc" &&
        mount --rbind /sys "$root/sys" && mount --make-rslave "$root/sys" &&
        mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev" &&
        mkdir -p "$root/src/shared" "$root/src/.origin" &&
        mount --bind "$shared" "$root/src/shared" &&
        mount -o remount,bind,ro "$root/src/shared" &&
        cp "$bundle" "$root/src/.origin/facenet-c.bundle" ||
        { say "cannot set up the mounts in $root"; exit 3; }
    mapfile -t envs < <(chroot_env)
    as=()
    if [ "$user" = 1 ]; then
        # a user "dev" who may use sudo without a password (no terminal to type one)
        nice -n 19 chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive sh -c \
            'apt-get update -qq && apt-get install -y -qq --no-install-recommends sudo && apt-get clean &&
             rm -rf /var/lib/apt/lists/* && mkdir -p /var/lib/apt/lists/partial &&
             useradd -m -s /bin/bash dev && echo "dev ALL=(ALL) NOPASSWD: ALL" >/etc/sudoers.d/dev &&
             chmod 440 /etc/sudoers.d/dev && chown dev:dev /src &&
             echo "127.0.1.1 $(hostname)" >>/etc/hosts' </dev/null >"$run/user.log" 2>&1 || exit 5
        as=(--userspec=dev:dev)
    fi
    in_chroot() { nice -n 19 chroot "${as[@]}" "$root" env -i "${envs[@]}" "$@" </dev/null; }
    if ! in_chroot git clone -q -c advice.detachedHead=false /src/.origin/facenet-c.bundle /src/facenet-c \
        >"$run/clone.log" 2>&1; then
        exit 4
    fi
    start=$(date +%s)
    in_chroot bash -c 'cd /src/facenet-c && make demo' >"$root/src/make-demo.log" 2>&1
    echo "demo $? $(( $(date +%s) - start ))" >"$run/status"
    if [ "$test_too" = 1 ]; then
        start=$(date +%s)
        in_chroot bash -c 'cd /src/facenet-c && make test' >"$root/src/make-test.log" 2>&1
        echo "test $? $(( $(date +%s) - start ))" >>"$run/status"
    fi
    # what the demo left installed (for the report)
    in_chroot sh -c 'dpkg-query -W -f "\${Package}\n" | wc -l; node --version; npm --version' >"$run/after.txt" 2>&1
    exit 0
fi

# ---- outside
[ "$(id -u)" -eq 0 ] || notrun "run as root (debootstrap, chroot and mount need it)"
command -v apt-get >/dev/null 2>&1 || notrun "apt-get not found (a Debian-like system is needed)"
command -v unshare >/dev/null 2>&1 || notrun "unshare not found (util-linux)"
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${FACENET_SHARED:-$here/../shared}
[ -d "$shared/images/happy-house" ] || notrun "FACENET_SHARED=$shared has no images/happy-house (the demo needs the course photos)"
shared=$(cd "$shared" && pwd)
head=$(git -C "$here" rev-parse HEAD) || notrun "$here is not a git checkout"
[ -z "$(git -C "$here" status --porcelain --untracked-files=no)" ] ||
    say "note: uncommitted changes in $here are not part of the test (the clone has $head)"
if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null; } ||
        notrun "cannot install debootstrap"
fi
mkdir -p "$dir" || notrun "cannot create $dir"
dir=$(cd "$dir" && pwd)
exec 9>"$dir/lock"
flock -n 9 || notrun "another check-fresh --chroot is running in $dir"

t0=$(date +%s)
base=$dir/base
debs=$dir/debs-$SUITE-minbase.tgz
if [ "$rebuild" = 1 ] || [ "$(cat "$dir/base.ok" 2>/dev/null)" != "$RECIPE" ]; then
    say "building the base system in $base ($SUITE, minbase, + ${PREREQS[*]})"
    rm -f "$dir/base.ok"
    rm -rf --one-file-system "$base"
    if [ ! -s "$debs" ]; then
        nice -n 19 debootstrap --variant=minbase --make-tarball="$debs.tmp" "$SUITE" "$dir/tarball-work" "$MIRROR" \
            >"$dir/debootstrap.log" 2>&1 || notrun "debootstrap --make-tarball failed (see $dir/debootstrap.log)"
        mv "$debs.tmp" "$debs"
        rm -rf --one-file-system "$dir/tarball-work"
    fi
    nice -n 19 debootstrap --variant=minbase --unpack-tarball="$debs" "$SUITE" "$base" "$MIRROR" \
        >"$dir/debootstrap.log" 2>&1 || notrun "debootstrap failed (see $dir/debootstrap.log)"
    printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
        "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SECURITY" "$SUITE" >"$base/etc/apt/sources.list"
    cp /etc/resolv.conf "$base/etc/resolv.conf"
    # this network's own CAs (see the top); update-ca-certificates adds them when
    # ca-certificates is installed below
    mkdir -p "$base/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$base/usr/local/share/ca-certificates/" 2>/dev/null
    mapfile -t envs < <(chroot_env)
    unshare -m --propagation private sh -c 'mount -t proc proc "$1/proc" && shift && exec "$@"' sh "$base" \
        nice -n 19 chroot "$base" env -i "${envs[@]}" DEBIAN_FRONTEND=noninteractive sh -c \
        "apt-get update -qq && apt-get install -y -qq --no-install-recommends ${PREREQS[*]} && apt-get clean &&
         rm -rf /var/lib/apt/lists/* && mkdir -p /var/lib/apt/lists/partial" </dev/null >>"$dir/debootstrap.log" 2>&1 ||
        notrun "installing ${PREREQS[*]} in $base failed (see $dir/debootstrap.log)"
    echo "$RECIPE" >"$dir/base.ok"
fi
t_base=$(( $(date +%s) - t0 ))

# a pristine copy: an overlay over base (or a full copy with --keep / without overlayfs)
run=$dir/run
rm -rf --one-file-system "$run"
mkdir -p "$run/upper" "$run/work" "$run/root" || notrun "cannot create $run"
git -C "$here" bundle create -q "$run/facenet-c.bundle" HEAD 2>"$run/bundle.log" ||
    notrun "git bundle of $here failed: $(head -n 1 "$run/bundle.log")"

say "running make demo in a fresh $SUITE chroot from $head as $([ "$user" = 1 ] && echo "user dev (sudo)" || echo root) (logs: $run/)"
t1=$(date +%s)
if [ "$keep" = 1 ]; then
    cp -a "$base/." "$run/root/" || notrun "cannot copy $base"
    mountcmd=true
    logs=$run/root/src
else
    mountcmd="mount -t overlay overlay -o lowerdir=$base,upperdir=$run/upper,workdir=$run/work $run/root"
    logs=$run/upper/src
fi
opts=()
[ "$test_too" = 1 ] && opts+=(--test)
[ "$user" = 1 ] && opts+=(--user)
unshare -m --propagation private \
    sh -c "$mountcmd || { echo 'check-fresh: cannot mount the overlay' >&2; exit 3; }; exec bash \"\$0\" \"\$@\"" \
    "$0" "${opts[@]}" --inside "$run/root" "$shared" "$run/facenet-c.bundle" "$run"
rc=$?
case $rc in
0) ;;
4) notrun "git clone in the chroot failed: $(tail -n 2 "$run/clone.log" | paste -sd ' ' -)" ;;
5) notrun "creating the user dev with sudo in the chroot failed: $(tail -n 2 "$run/user.log" | paste -sd ' ' -)" ;;
*) notrun "the chroot could not be set up (status $rc)" ;;
esac
t_run=$(( $(date +%s) - t1 ))

fail=()
read -r _ demo_rc demo_secs < <(grep '^demo ' "$run/status")
[ "$demo_rc" = 0 ] || fail+=("make demo exited with status $demo_rc")
# the identifications the README's Quick start shows (the demo prints full paths)
mapfile -t expect < <(grep -E '^camera_[0-9]+\.jpg: ' "$here/README.md")
[ ${#expect[@]} -gt 0 ] || fail+=("no expected demo output found in README.md")
for line in "${expect[@]}"; do
    grep -qF -- "/$line" "$logs/make-demo.log" || fail+=("make demo did not print: $line")
done
summary="make demo: status $demo_rc in ${demo_secs} s, ${#expect[@]} README identifications checked"
if [ "$test_too" = 1 ]; then
    read -r _ test_rc test_secs < <(grep '^test ' "$run/status")
    counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$logs/make-test.log" | tail -n 1)
    [ "$test_rc" = 0 ] || fail+=("make test exited with status $test_rc")
    [[ "$counts" =~ ^[0-9]+\ passed,\ 0\ failed ]] || fail+=("make test did not end with N passed, 0 failed (${counts:-no summary})")
    summary="$summary; make test: status $test_rc in ${test_secs} s (${counts:-no summary})"
fi
read -r -d '' after <"$run/after.txt"
say "base system ready in ${t_base} s; chroot run ${t_run} s; $summary"
say "afterwards the chroot had $(echo "$after" | paste -sd ' ' - | sed 's/^\([0-9]*\) /\1 packages, node /; s/ \([0-9.]*\)$/, npm \1/')"
if [ ${#fail[@]} -eq 0 ]; then
    echo PASS
    exit 0
fi
printf 'check-fresh: %s\n' "${fail[@]}" >&2
for f in make-demo make-test; do
    [ -f "$logs/$f.log" ] || continue
    say "last lines of $logs/$f.log:"
    tail -n 30 "$logs/$f.log" >&2
done
echo FAIL
exit 1
}
