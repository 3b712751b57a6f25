#!/bin/sh
# consistent unless the flag (0x1040) is set while the data (0x1000) is not 42
data=$(od -An -t u8 -j 4096 -N 8 "$1" | tr -d ' ')
flag=$(od -An -t u8 -j 4160 -N 8 "$1" | tr -d ' ')
if [ "$flag" = 1 ] && [ "$data" != 42 ]; then echo "flag set but data=$data"; exit 1; fi
exit 0
