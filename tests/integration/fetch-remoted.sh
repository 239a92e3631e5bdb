#!/usr/bin/env bash
# Fetches the real pacemaker-remoted (Debian package pacemaker-remote) into a cache
# directory without installing it: the package conflicts with the installed pacemaker,
# but its binary runs fine against the installed pacemaker libraries.
#
# Usage: tests/integration/fetch-remoted.sh [CACHE_DIR]     (default: build/peers)
# Prints the absolute path of pacemaker-remoted as the last line on stdout; progress and
# errors go to stderr. Idempotent and safe to run concurrently (flock on CACHE_DIR/.lock).
# The package version is pinned to the installed pacemaker's version so the binary and
# the libraries it links come from the same build.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${1:-$root/build/peers}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

say() { echo "fetch-remoted: $*" >&2; }
die() { say "error: $*"; exit 1; }

command -v dpkg-query >/dev/null || die "dpkg-query not found (this script needs Debian/Ubuntu)"
version=$(dpkg-query -W -f='${Version}' pacemaker 2>/dev/null || true)
status=$(dpkg-query -W -f='${Status}' pacemaker 2>/dev/null || true)
[[ $status == "install ok installed" && -n $version ]] ||
    die "package pacemaker is not installed (scripts/test installs it); pacemaker-remoted needs its libraries"

dest=$cache/pacemaker-remote_$version
binary=$dest/usr/sbin/pacemaker-remoted

exec 9>"$cache/.lock"
flock 9

if [[ ! -x $binary ]]; then
    work=$(mktemp -d "$cache/.download.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    download() {
        # -o APT::Sandbox::User=root: the cache dir may not be readable by user _apt.
        (cd "$work" && apt-get download -o APT::Sandbox::User=root -q "pacemaker-remote=$version" >&2)
    }
    say "downloading pacemaker-remote=$version"
    if ! download; then
        [[ $(id -u) -eq 0 ]] || die "apt-get download failed and apt-get update needs root"
        say "download failed; running apt-get update once and retrying"
        apt-get update -q >&2 || die "apt-get update failed"
        download || die "apt-get download pacemaker-remote=$version failed"
    fi
    deb=$(ls "$work"/pacemaker-remote_*.deb 2>/dev/null | head -n 1)
    [[ -n $deb ]] || die "apt-get download produced no .deb"
    rm -rf "$dest.tmp"
    dpkg -x "$deb" "$dest.tmp" || die "dpkg -x $deb failed"
    [[ -x $dest.tmp/usr/sbin/pacemaker-remoted ]] || die "package has no usr/sbin/pacemaker-remoted"
    rm -rf "$dest"
    mv "$dest.tmp" "$dest"
    say "unpacked into $dest"
fi

# Fail here, with the reason, rather than in a test: every library must resolve.
if missing=$(ldd "$binary" 2>&1 | grep 'not found'); then
    die "pacemaker-remoted cannot find its libraries: $missing"
fi
ln -sfn "$binary" "$cache/pacemaker-remoted"
echo "$binary"
