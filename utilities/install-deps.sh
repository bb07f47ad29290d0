#!/bin/sh
# install-deps.sh - install every Debian package that building vswitch, its
# test suite and the demo need.  Idempotent and non-interactive: packages
# already present are not fetched again.
set -eu

PKGS="build-essential cmake pkg-config git
      dpdk dpdk-dev libdpdk-dev
      libevent-dev libjson-c-dev check libsubunit-dev
      iproute2 iputils-ping procps psmisc python3 util-linux
      clang libfuzzer-14-dev
      python3-prometheus-client
      tcpdump
      systemd man-db groff-base dpkg-dev debhelper fakeroot logrotate
      qemu-system-x86 busybox-static cpio gzip xz-utils kmod binutils"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
