#!/bin/sh
# An application's invariant for replace-by-rename, on a file trace's
# recovered tree: the file ($1, from --checker-file) is absent (not created
# yet) or holds a whole version, 4096 bytes of one value -- never empty,
# never a mix.  Its words on failure are what check reports.
[ -e "$1" ] || exit 0
size=$(wc -c < "$1")
values=$(od -An -v -t x1 "$1" | tr -s ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ')
case "$size:$values" in
4096:"11 "|4096:"22 ") exit 0 ;;
esac
echo "size $size, byte values: ${values:-none}"
exit 1
