#!/bin/sh
# Fetches the panthor uAPI header of Linux 6.12 for tests/layout.rs.
#
# Copies include/uapi/drm/{panthor_drm.h,drm.h,drm_mode.h} out of Debian's
# linux-source-6.12 package into <dest>/drm/, where <dest> is, in order:
# the first argument, $PANTHOR_UAPI_INCLUDE, or <workspace>/target/linux-uapi/include
# (the default tests/layout.rs looks in); relative paths start at the
# workspace root. drm.h includes drm_mode.h; the
# <linux/types.h> and <asm/ioctl.h> they need come from the system's
# linux-libc-dev.
#
# Idempotent: does nothing when the three files are already there.
# Needs apt-get (Debian/Ubuntu with a deb.debian.org-like source for
# linux-source-6.12), dpkg and xz. Set LINUX_SOURCE_DEB to a local
# linux-source-6.12_*.deb to skip the ~150 MB download.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
dest=${1:-${PANTHOR_UAPI_INCLUDE:-target/linux-uapi/include}}
# Relative paths are taken from the workspace root, as tests/layout.rs does.
case $dest in
/*) ;;
*) dest=$root/$dest ;;
esac
pkg=linux-source-6.12
files="panthor_drm.h drm.h drm_mode.h"

missing=
for f in $files; do
	[ -f "$dest/drm/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then
	echo "fetch-header: $dest/drm already has $files"
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ -n "${LINUX_SOURCE_DEB:-}" ]; then
	deb=$LINUX_SOURCE_DEB
else
	echo "fetch-header: downloading $pkg (about 150 MB)"
	# apt-get download writes to the current directory; as root it warns
	# that the download is unsandboxed, which is harmless here.
	# A fresh machine may have no package lists yet: update once and retry.
	if ! (cd "$tmp" && apt-get download "$pkg" 2>/dev/null); then
		apt-get update -qq
		(cd "$tmp" && apt-get download "$pkg")
	fi
	deb=$(ls "$tmp"/${pkg}_*.deb)
fi
version=$(dpkg-deb -f "$deb" Version)

echo "fetch-header: extracting from $pkg $version"
dpkg-deb -x "$deb" "$tmp/pkg"
members=
for f in $files; do
	members="$members $pkg/include/uapi/drm/$f"
done
# shellcheck disable=SC2086 # members is a list of paths without spaces
tar -xJf "$tmp/pkg/usr/src/$pkg.tar.xz" -C "$tmp" $members

# Copy next to the destination, then rename, so an interrupted run never
# leaves a half-written header that the check above would accept.
mkdir -p "$dest/drm"
for f in $files; do
	cp "$tmp/$pkg/include/uapi/drm/$f" "$dest/drm/.$f.tmp"
	mv "$dest/drm/.$f.tmp" "$dest/drm/$f"
done
echo "$pkg $version" >"$dest/drm/SOURCE"
echo "fetch-header: wrote $files to $dest/drm ($pkg $version)"
