#!/bin/sh
# e2fsck-check.sh IMAGE: replay the journal as the kernel's mount would
# (e2fsck -fy on a copy), then judge with e2fsck -fn.  Exit 0 if clean.
img=$1
e2fsck -fy "$img" >/dev/null 2>&1
rc=$?
[ $rc -ge 4 ] && { echo "e2fsck -fy: exit $rc"; exit 1; }
out=$(e2fsck -fn "$img" 2>&1) || { echo "$out" | tail -3; exit 1; }
exit 0
