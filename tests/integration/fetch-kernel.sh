#!/usr/bin/env bash
# Fetches Debian's kernel for the QEMU guest-node tests into a cache directory without
# installing it (this machine's /boot stays empty): `apt-get download` of the package
# linux-image-amd64 depends on (linux-image-6.1.0-N-amd64), unpacked with dpkg-deb -x.
# It also writes an uncompressed ELF `vmlinux` next to the bzImage: the kernel has PVH,
# so QEMU boots the ELF directly and skips the in-guest decompression (about 6-7 s to a
# running daemon under TCG instead of about 13 s).
#
# Usage: tests/integration/fetch-kernel.sh [CACHE_DIR]     (default: build/peers/kernel)
# Prints the absolute path of the unpacked tree as the last line on stdout, containing
#   boot/vmlinuz-<release>, vmlinux (ELF, if it could be extracted), lib/modules/<release>/,
#   release (the <release> string).
# Progress and errors go to stderr. Idempotent and safe to run concurrently (flock).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cache=${1:-$root/build/peers/kernel}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

say() { echo "fetch-kernel: $*" >&2; }
die() { say "error: $*"; exit 1; }

command -v apt-cache >/dev/null || die "apt-cache not found (this script needs Debian)"

exec 9>"$cache/.lock"
flock 9

# The concrete kernel package behind the meta package, e.g. linux-image-6.1.0-56-amd64.
resolve() { apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1; }
package=$(resolve)
if [[ -z $package ]]; then
    [[ $(id -u) -eq 0 ]] || die "linux-image-amd64 is unknown to apt and apt-get update needs root"
    say "linux-image-amd64 unknown; running apt-get update once"
    apt-get update -q >&2 || die "apt-get update failed"
    package=$(resolve)
    [[ -n $package ]] || die "cannot resolve the package linux-image-amd64 depends on"
fi
release=${package#linux-image-}
dest=$cache/$package

if [[ ! -f $dest/boot/vmlinuz-$release ]]; then
    work=$(mktemp -d "$cache/.download.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    say "downloading $package"
    # -o APT::Sandbox::User=root: the cache dir may not be readable by user _apt.
    (cd "$work" && apt-get download -o APT::Sandbox::User=root -q "$package" >&2) ||
        die "apt-get download $package failed"
    deb=$(ls "$work"/linux-image-*.deb 2>/dev/null | head -n 1)
    [[ -n $deb ]] || die "apt-get download produced no .deb"
    rm -rf "$dest.tmp"
    dpkg-deb -x "$deb" "$dest.tmp" || die "dpkg-deb -x $deb failed"
    [[ -f $dest.tmp/boot/vmlinuz-$release ]] || die "package has no boot/vmlinuz-$release"
    echo "$release" >"$dest.tmp/release"
    rm -rf "$dest"
    mv "$dest.tmp" "$dest"
    say "unpacked into $dest"
fi

# vmlinux: find the first compressed stream in the bzImage that decompresses to an ELF
# (the same idea as the kernel's scripts/extract-vmlinux, written anew here).
if [[ ! -f $dest/vmlinux ]]; then
    image=$dest/boot/vmlinuz-$release
    tmp=$dest/vmlinux.tmp
    try_format() {  # $1 = magic as grep -P bytes, $2 = decompressor command
        local offset
        for offset in $(LC_ALL=C grep -aboP "$1" "$image" | cut -d: -f1); do
            tail -c +$((offset + 1)) "$image" | $2 >"$tmp" 2>/dev/null || true
            if [[ -s $tmp ]] && [[ $(head -c 4 "$tmp" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
                mv "$tmp" "$dest/vmlinux"
                return 0
            fi
        done
        return 1
    }
    if try_format '\xfd\x37\x7a\x58\x5a\x00' 'xz -dc' ||
        try_format '\x28\xb5\x2f\xfd' 'zstd -dc' ||
        try_format '\x1f\x8b\x08' 'gzip -dc'; then
        say "extracted $dest/vmlinux"
    else
        rm -f "$tmp"
        say "warning: could not extract an ELF vmlinux; the tests boot the bzImage (slower)"
    fi
fi
echo "$dest"
