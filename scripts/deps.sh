#!/bin/sh
# Installs the Debian packages pmd needs for a purpose (build, test, bench)
# when run as root, or prints the exact apt-get line otherwise.
set -e
purpose=${1:-build}
pkgs="pkg-config libev-dev libcjson-dev libinih-dev libmicrohttpd-dev"
command -v cc >/dev/null 2>&1 || pkgs="gcc $pkgs"
case $purpose in
build) ;;
test) pkgs="$pkgs lintian libcmocka-dev python3 python3-pytest python3-pytest-xdist python3-yaml mandoc systemd python3-seccomp chromium tzdata clang libclang-rt-14-dev nodejs redis-server gunicorn uvicorn prometheus libfaketime valgrind" ;;
bench) pkgs="$pkgs python3 strace wrk hyperfine supervisor nodejs" ;;
*) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac
if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps: not a Debian system; make sure these are installed: $pkgs" >&2
	exit 0
fi
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "pmd needs these packages:$missing" >&2
	echo "install them with: sudo apt-get install$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q $missing || {
	apt-get update -q && apt-get install -y -q $missing
}
