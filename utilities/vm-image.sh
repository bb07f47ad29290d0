#!/bin/sh
# vm-image.sh - build (or reuse) the guest image the VM tests boot: a Debian
# kernel and an initramfs made here from Debian packages only.
#
# usage: utilities/vm-image.sh [--force]
#
# Prints one line on stdout: the directory holding
#   vmlinuz     the kernel of the linux-image-6.1.*-amd64 package that
#               bookworm's linux-image-amd64 currently depends on
#   initrd.gz   a gzip'ed newc cpio archive: busybox-static, the virtio
#               network modules (and what modules.dep says they need),
#               iperf3 with the shared libraries it needs, and /init
#   cmdline     the kernel command line to boot it with
#   info        the packages (name=version) it was made from
# Everything else goes to stderr.
#
# The guest's /init mounts /proc, /sys and /dev, insmods the modules in
# dependency order (virtio_ring, virtio, virtio_pci_modern_dev,
# virtio_pci_legacy_dev, virtio_pci, failover, net_failover, virtio_net:
# DESIGN.md section 8), prints "VSWITCH-VM-READY" and runs a busybox shell
# on the serial console (ttyS0): tests drive the guest by typing commands
# there (tests/vm/vmkit.py).  Nothing of a test is baked into the image.
#
# Cache: /var/cache/vswitch-vm/<key> ($VSWITCH_VM_CACHE overrides the
# parent directory), key = sha256 of this script and of the exact package
# names and versions apt would fetch: a new kernel in bookworm, a new
# busybox or a change to this script makes a new image; otherwise the
# cached one is reused without downloading anything.  Needs root (or a
# writable cache dir) and network access to the Debian archive on the first
# run; installs the host tools it uses (cpio, gzip, kmod) if missing.
set -eu

CACHE=${VSWITCH_VM_CACHE:-/var/cache/vswitch-vm}
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

say() { echo "vm-image: $*" >&2; }
die() { say "error: $*"; exit 1; }

# Host tools: apt-get/dpkg/apt-cache (always there on Debian), and these.
need=""
for t in cpio:cpio gzip:gzip depmod:kmod readelf:binutils; do
    command -v "${t%%:*}" >/dev/null 2>&1 || need="$need ${t#*:}"
done
if [ -n "$need" ]; then
    [ "$(id -u)" -eq 0 ] || die "missing host packages:$need (run utilities/install-deps.sh)"
    say "installing$need"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $need >&2
fi

# Fast path: apt-cache takes seconds per call on a loaded machine, so the
# key it gives is remembered per (this script, state of the apt lists):
# while neither changes, neither can the package versions.
QUICK=$( { cat "$0"; ls -l --time-style=+%s /var/lib/apt/lists/ 2>/dev/null; } |
         sha256sum | cut -c1-16)
if [ "$FORCE" -eq 0 ] && [ -f "$CACHE/.quick-$QUICK" ]; then
    OUT=$(cat "$CACHE/.quick-$QUICK")
    if [ -f "$OUT/initrd.gz" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/cmdline" ]; then
        echo "$OUT"
        exit 0
    fi
fi

# The exact kernel package: what linux-image-amd64 (the bookworm meta
# package) depends on, e.g. linux-image-6.1.0-57-amd64.
KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
       sed -n 's/^ *Depends: \(linux-image-6\.1[^ ]*-amd64\)$/\1/p' | head -n 1)
if [ -z "$KPKG" ]; then
    # No meta package in the lists: the newest linux-image-6.1.*-amd64.
    KPKG=$(apt-cache pkgnames linux-image-6.1 2>/dev/null |
           grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n 1)
fi
[ -n "$KPKG" ] || die "no linux-image-6.1.*-amd64 package in the apt lists (apt-get update?)"

# Guest userland packages: busybox, iperf3 and the libraries it links.
PKGS="$KPKG busybox-static iperf3 libiperf0 libsctp1 libssl3 libc6"

# The candidate version of each (one apt-cache call: each one costs seconds
# on a loaded machine).
VERSIONS=$(apt-cache show --no-all-versions $PKGS 2>/dev/null |
           awk '/^Package: /{p=$2} /^Version: /{print p "=" $2}')
INFO=""
for p in $PKGS; do
    v=$(echo "$VERSIONS" | grep -m1 "^$p=" || true)
    [ -n "$v" ] || die "package $p is not in the apt lists (apt-get update?)"
    INFO="$INFO$v
"
done
KEY=$( { cat "$0"; printf '%s' "$INFO"; } | sha256sum | cut -c1-16)
OUT="$CACHE/$KEY"

if [ "$FORCE" -eq 0 ] && [ -f "$OUT/initrd.gz" ] && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/cmdline" ]; then
    echo "$OUT" >"$CACHE/.quick-$QUICK" 2>/dev/null || true
    echo "$OUT"
    exit 0
fi

mkdir -p "$CACHE"
# One builder at a time (tests may start several runs at once).
exec 9>"$CACHE/.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi
if [ "$FORCE" -eq 0 ] && [ -f "$OUT/initrd.gz" ]; then
    echo "$OUT"
    exit 0
fi

WORK=$(mktemp -d "$CACHE/.build.XXXXXX")
chmod 0755 "$WORK"
trap 'rm -rf "$WORK"' EXIT INT TERM
say "building $OUT from:"
printf '%s' "$INFO" | sed 's/^/    /' >&2

mkdir -p "$WORK/debs" "$WORK/x"
# apt-get download as root drops privileges to _apt, which must be able
# to write the target directory.
chmod 0777 "$WORK/debs"
( cd "$WORK/debs" && apt-get download -q $PKGS >&2 ) ||
    die "apt-get download $PKGS failed"
for d in "$WORK"/debs/*.deb; do
    dpkg -x "$d" "$WORK/x"
done

KVER=${KPKG#linux-image-}
X="$WORK/x"
[ -f "$X/boot/vmlinuz-$KVER" ] || die "$KPKG has no /boot/vmlinuz-$KVER"
MODDIR=$X/lib/modules/$KVER
[ -d "$MODDIR" ] || MODDIR=$X/usr/lib/modules/$KVER
depmod -b "$X" "$KVER" 2>/dev/null || depmod -b "$X/usr" "$KVER"

R="$WORK/root"
mkdir -p "$R/bin" "$R/sbin" "$R/usr/bin" "$R/usr/sbin" "$R/proc" "$R/sys" \
         "$R/dev" "$R/tmp" "$R/etc" "$R/root" "$R/lib/modules" \
         "$R/lib/x86_64-linux-gnu" "$R/lib64"
cp "$X/bin/busybox" "$R/bin/busybox"
for a in $("$R/bin/busybox" --list); do
    [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done

# Modules: each wanted one after everything modules.dep says it needs,
# each once.  Compressed modules are decompressed (busybox insmod takes
# plain .ko).
WANT="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net"
ORDER="$WORK/order"
: >"$ORDER"
add_module() {   # $1 = path relative to the modules dir, as in modules.dep
    grep -qxF "$1" "$ORDER" && return 0
    deps=$(grep -E "^$1:" "$MODDIR/modules.dep" | cut -d: -f2-)
    # Dependencies come last-needed-first in modules.dep: load in reverse.
    for dep in $(echo $deps | tr ' ' '\n' | tac); do
        add_module "$dep"
    done
    echo "$1" >>"$ORDER"
}
for m in $WANT; do
    rel=$(grep -oE "^[^:]*/$m\.ko(\.xz|\.zst)?:" "$MODDIR/modules.dep" | tr -d : | head -n 1)
    if [ -z "$rel" ]; then
        if grep -qE "/$m\.ko" "$MODDIR/modules.builtin"; then
            continue                       # built into the kernel
        fi
        die "module $m not found in $KPKG"
    fi
    add_module "$rel"
done
: >"$R/etc/modules"
while read -r rel; do
    name=$(basename "$rel")
    case "$name" in
    *.xz)  xz -dc "$MODDIR/$rel" >"$R/lib/modules/${name%.xz}"; name=${name%.xz} ;;
    *.zst) zstd -dcq "$MODDIR/$rel" >"$R/lib/modules/${name%.zst}"; name=${name%.zst} ;;
    *)     cp "$MODDIR/$rel" "$R/lib/modules/$name" ;;
    esac
    echo "$name" >>"$R/etc/modules"
done <"$ORDER"
say "modules: $(tr '\n' ' ' <"$R/etc/modules")"

# iperf3 and, recursively, the shared libraries its ELF NEEDED entries
# name, found in the extracted packages.
cp "$X/usr/bin/iperf3" "$R/usr/bin/iperf3"
findlib() {
    for dir in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib usr/lib; do
        [ -e "$X/$dir/$1" ] && { echo "$X/$dir/$1"; return 0; }
    done
    return 1
}
copylibs() {     # $1 = an ELF file
    for lib in $(readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        [ -e "$R/lib/x86_64-linux-gnu/$lib" ] && continue
        src=$(findlib "$lib") || die "library $lib (needed by $(basename "$1")) is in none of $PKGS"
        cp -L "$src" "$R/lib/x86_64-linux-gnu/$lib"
        copylibs "$R/lib/x86_64-linux-gnu/$lib"
    done
}
copylibs "$R/usr/bin/iperf3"
LDSO=$(findlib ld-linux-x86-64.so.2) || die "no ld-linux-x86-64.so.2 in libc6"
cp -L "$LDSO" "$R/lib64/ld-linux-x86-64.so.2"
cp -L "$LDSO" "$R/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
echo "/lib/x86_64-linux-gnu" >"$R/etc/ld.so.conf"
say "libraries: $(ls "$R/lib/x86_64-linux-gnu" | tr '\n' ' ')"

echo "root:x:0:0:root:/root:/bin/sh" >"$R/etc/passwd"
echo "root:x:0:" >"$R/etc/group"
printf '127.0.0.1 localhost\n' >"$R/etc/hosts"

cat >"$R/init" <<'EOF'
#!/bin/sh
# Guest init (made by utilities/vm-image.sh): mounts, loads the virtio
# network modules, then a shell on the serial console for the test kit.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
export HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
while read -r m; do
    insmod "/lib/modules/$m" || echo "vm-init: insmod $m failed"
done </etc/modules
ip link set lo up
# Kernel messages would interleave with command output on the console.
dmesg -n 1
hostname vm
stty -echo 2>/dev/null
echo "VSWITCH-VM-READY $(uname -r) $(nproc) cpus"
export PS1=''
# No controlling tty, so no job control: a command run with & gets its
# stdin from /dev/null (it must never read the console, where the next
# commands come from).  A shell that exits is replaced by a new one.
while :; do
    sh +m
    echo "vm-init: shell exited with status $?"
done
EOF
chmod 0755 "$R/init"

( cd "$R" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 ) |
    gzip -6 >"$WORK/initrd.gz"

NEW="$WORK/out"
mkdir -p "$NEW"
cp "$X/boot/vmlinuz-$KVER" "$NEW/vmlinuz"
mv "$WORK/initrd.gz" "$NEW/initrd.gz"
# no_timer_check: a TCG guest on a loaded host fails the kernel's "IO-APIC +
# timer" check at boot (a panic) when its timer interrupt comes late.
echo "console=ttyS0 panic=-1 quiet loglevel=4 no_timer_check mitigations=off random.trust_cpu=on" \
    >"$NEW/cmdline"
printf '%s' "$INFO" >"$NEW/info"
rm -rf "$OUT"
mv "$NEW" "$OUT"
echo "$OUT" >"$CACHE/.quick-$QUICK"
say "done: $(du -sh "$OUT" | cut -f1)"
echo "$OUT"
