#!/bin/sh
# make-dmlog-fixture.sh — record a real ext4 write log twice over, with the
# kernel's dm-log-writes target and with QEMU's blklogwrites driver.
#
#   tools/make-dmlog-fixture.sh [OUTDIR]      (default tests/import/dmlog)
#
# Needs (Debian 12): qemu-system-x86 linux-image-amd64 busybox-static
# dmsetup e2fsprogs cpio gzip.  The guest runs under TCG (a minute or two).
#
# What it does:
#   1. On the host, mkfs.ext4 a 32 MiB image with a fixed UUID and hash
#      seed: base.img, the device's content before the log starts.
#   2. Builds an initramfs: static busybox, the Debian kernel's virtio,
#      ext4, dm-mod and dm-log-writes modules (the host's own .ko files,
#      in modprobe's dependency order), and dmsetup with its libraries.
#   3. Boots the Debian kernel in QEMU with two virtio disks:
#        vda  the ext4 image, through QEMU's blklogwrites driver, which
#             logs every write, flush and discard the guest sends to
#             qemu-blklogwrites.log (512-byte log sectors)
#        vdb  a 64 MiB scratch disk that receives the kernel log
#   4. In the guest: `dmsetup create lw` with the table
#      "0 SIZE log-writes /dev/vda /dev/vdb", mount /dev/mapper/lw, run a
#      small workload with `dmsetup message lw 0 mark NAME` after each step,
#      unmount, remove the target (which writes the dm-log-writes-end mark),
#      power off.
#   5. Cuts the kernel log out of vdb (the super sector says how many
#      entries; the log is as long as its last entry's end) and compresses
#      the results.
#
# Outputs in OUTDIR: base.img.gz, kernel-dmlog.bin.gz, qemu-blklogwrites.log.gz,
# and final.img.gz (the device after the run, for comparison).
set -eu

OUT=${1:-tests/import/dmlog}
KVER=$(ls /lib/modules | sort -V | tail -n 1)
KERNEL=/boot/vmlinuz-$KVER
BUSYBOX=$(command -v busybox)
W=$(mktemp -d /tmp/dmlog-fixture.XXXXXX)
trap 'rm -rf "$W"' EXIT INT TERM

for t in qemu-system-x86_64 mkfs.ext4 dmsetup cpio gzip modprobe; do
	command -v "$t" >/dev/null || { echo "make-dmlog-fixture: needs $t" >&2; exit 2; }
done
[ -r "$KERNEL" ] || { echo "make-dmlog-fixture: no readable $KERNEL" >&2; exit 2; }
file "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	echo "make-dmlog-fixture: warning: $BUSYBOX may not be static (install busybox-static)" >&2

# 1. the filesystem
truncate -s 32M "$W/base.img"
mkfs.ext4 -q -F -b 4096 -L powercut -U 0b0e0e5e-7a11-4c0d-9e5f-00000000c0de \
	-E nodiscard,lazy_itable_init=0,lazy_journal_init=0,hash_seed=5eed5eed-0000-4000-8000-000000000001 \
	"$W/base.img"
cp "$W/base.img" "$W/disk.img"
truncate -s 64M "$W/klog.img"
: > "$W/qemu-blklogwrites.log"

# 2. the initramfs
R=$W/root
mkdir -p "$R/bin" "$R/sbin" "$R/proc" "$R/sys" "$R/dev" "$R/mnt" "$R/lib/modules" "$R/lib64"
cp "$BUSYBOX" "$R/bin/busybox"
for m in virtio_pci virtio_blk ext4 dm-log-writes; do
	modprobe -S "$KVER" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'
done | awk '!seen[$0]++' > "$W/mods"
: > "$R/modules.order"
while read -r ko; do
	cp "$ko" "$R/lib/modules/"
	basename "$ko" >> "$R/modules.order"
done < "$W/mods"
cp /usr/sbin/dmsetup "$R/sbin/dmsetup"
ldd /usr/sbin/dmsetup | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^\//) print $i }' |
while read -r lib; do
	mkdir -p "$R$(dirname "$lib")"
	cp -L "$lib" "$R$lib"
done
cat > "$R/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules.order); do insmod /lib/modules/$m; done
export DM_DISABLE_UDEV=1
mark() { dmsetup message lw 0 mark "$1"; }
sleep 1
SZ=$(blockdev --getsz /dev/vda)
echo "0 $SZ log-writes /dev/vda /dev/vdb" | dmsetup create lw --noudevsync
mount -t ext4 -o data=ordered /dev/mapper/lw /mnt
mark mounted
# A small application: data written and fsynced, then replaced atomically
# by write + fdatasync + rename + directory fsync.
mkdir /mnt/d
dd if=/dev/zero bs=4096 count=8 2>/dev/null | tr '\0' 'a' > /mnt/d/data
sync /mnt/d/data
sync /mnt/d
mark data-fsynced
echo "version 2 of the configuration" > /mnt/d/conf.tmp
sync -d /mnt/d/conf.tmp
mv /mnt/d/conf.tmp /mnt/d/conf
sync /mnt/d
mark renamed
dd if=/dev/zero bs=4096 count=4 2>/dev/null | tr '\0' 'b' >> /mnt/d/data
sync
mark appended-synced
umount /mnt
mark unmounted
dmsetup remove lw --noudevsync
echo POWERCUT-GUEST-DONE
poweroff -f
EOF
chmod 755 "$R/init"
(cd "$R" && find . | cpio -o -H newc 2>/dev/null | gzip -9) > "$W/initrd.gz"

# 3. boot
# TCG by default: on nested virtualization (as on the machine that made the
# fixture) KVM may hang at boot; QEMU_ACCEL=kvm to try it.
ACCEL=${QEMU_ACCEL:-tcg}
timeout 300 qemu-system-x86_64 -machine q35,accel=$ACCEL -m 512 -nographic -no-reboot \
	-kernel "$KERNEL" -initrd "$W/initrd.gz" \
	-append "console=ttyS0 panic=-1 edd=off quiet" \
	-drive if=none,id=d0,driver=blklogwrites,file.driver=file,file.filename="$W/disk.img",log.driver=file,log.filename="$W/qemu-blklogwrites.log",log-sector-size=512 \
	-device virtio-blk-pci,drive=d0 \
	-drive if=none,id=d1,driver=raw,file="$W/klog.img" \
	-device virtio-blk-pci,drive=d1 > "$W/console.txt" 2>&1 || true
if ! grep -q POWERCUT-GUEST-DONE "$W/console.txt"; then
	echo "make-dmlog-fixture: the guest did not finish; its console:" >&2
	cat "$W/console.txt" >&2
	exit 1
fi

# 5. cut the kernel log to its entries
/usr/bin/python3 - "$W/klog.img" "$W/kernel-dmlog.bin" <<'EOF'
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
with open(src, 'rb') as f:
    magic, version, n, ss = struct.unpack('<QQQI', f.read(28))
    assert magic == 0x6a736677736872 and version == 1, 'no dm-log-writes super'
    pos = ss
    for _ in range(n):
        f.seek(pos)
        sector, nr, flags, dlen = struct.unpack('<QQQQ', f.read(32))
        pos += ss + (0 if flags & 4 else nr * ss)
    f.seek(0)
    data = f.read(pos)
with open(dst, 'wb') as g:
    g.write(data)
print('kernel log: %d entries, %d bytes, sector size %d' % (n, pos, ss))
EOF

mkdir -p "$OUT"
for f in base.img kernel-dmlog.bin qemu-blklogwrites.log; do
	gzip -9n < "$W/$f" > "$OUT/$f.gz"
done
gzip -9n < "$W/disk.img" > "$OUT/final.img.gz"
ls -l "$OUT"
