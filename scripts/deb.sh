#!/bin/sh
# make deb: a Debian package of pmd, built with dpkg-deb from a staged
# `make install` (PREFIX=/usr) in build/deb, with Debian's build flags
# (dpkg-buildflags), dependencies from dpkg-shlibdeps, and lintian's
# verdict printed (it fails on an error or warning). VERSION=X.Y.Z makes
# another version of the same code (the upgrade test uses it), DEB_DIR
# another place than build/ for it all. Prints the package's path last.
set -eu
cd "$(dirname "$0")/.."
version=${VERSION:-$(sed -n 's/^#define PMD_VERSION[^"]*"\(.*\)"/\1/p' include/pmd-protocol.h)}
arch=$(dpkg --print-architecture)
out_dir=${DEB_DIR:-build}
deb=$out_dir/deb
src=$deb/src
root=$deb/root
rm -rf "$deb"
mkdir -p "$src" "$root/DEBIAN"

# A copy of the tree, built with /usr paths and the distribution's flags.
cp -r Makefile src include man conf systemd completion scripts "$src"
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(dpkg-buildflags --get CFLAGS)"
CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS) -DPMD_VERSION=\\\"$version\\\""
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"
make -s -C "$src" -j2 PREFIX=/usr UNITDIR=/lib/systemd/system \
    CFLAGS="$CFLAGS" EXTRA_CPPFLAGS="$CPPFLAGS" LDFLAGS="$LDFLAGS" all
make -s -C "$src" PREFIX=/usr UNITDIR=/lib/systemd/system \
    DESTDIR="$(cd "$root" && pwd)" install >/dev/null

# Debian's layout: stripped binaries, compressed manuals, the docs.
strip --remove-section=.comment --remove-section=.note "$root/usr/bin/pmd" \
    "$root/usr/bin/pmctl"
strip --remove-section=.comment --remove-section=.note --strip-unneeded \
    "$root/usr/lib/pmd/pmd-preload.so"
gzip -9n "$root"/usr/share/man/man*/*
doc=$root/usr/share/doc/pmd
mkdir -p "$doc" "$root/usr/share/lintian/overrides"
cp scripts/debian/copyright "$doc/copyright"
sed "s/@VERSION@/$version/; s/@DATE@/$(date -R -d @"${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}")/" \
    scripts/debian/changelog | gzip -9n > "$doc/changelog.gz"
cp scripts/debian/lintian-overrides "$root/usr/share/lintian/overrides/pmd"
find "$root" -type d -exec chmod 755 {} +

# What it needs, as dpkg-shlibdeps finds it (libmicrohttpd is loaded
# only when [daemon] http is set: a recommendation).
mkdir -p "$deb/debian"
printf 'Source: pmd\n\nPackage: pmd\nArchitecture: any\n' > "$deb/debian/control"
depends=$(cd "$deb" && dpkg-shlibdeps -O root/usr/bin/pmd root/usr/bin/pmctl \
    root/usr/lib/pmd/pmd-preload.so 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$depends/" \
    -e "s/@SIZE@/$size/" scripts/debian/control > "$root/DEBIAN/control"
for s in postinst prerm postrm; do
	install -m 755 scripts/debian/$s "$root/DEBIAN/$s"
done
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) > "$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' |
    sort | xargs md5sum) > "$root/DEBIAN/md5sums"
out=$out_dir/pmd_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
if command -v lintian >/dev/null; then
	# (Its warning about running as root is not about the package.)
	rc=0
	lintian --fail-on error,warning "$out" >"$deb/lintian.txt" 2>&1 || rc=$?
	grep -v 'running with root privileges' "$deb/lintian.txt" >&2 || :
	[ $rc -eq 0 ] || exit $rc
else
	echo "deb: lintian is not installed: the package is not checked" >&2
fi
echo "$out"
