#!/bin/sh
# Describes the recovered tree it is given ($1: its root) in $MANIFEST --
# each object, sorted: directories with a slash, symlinks with their
# target, files with size, link count and a checksum -- and the directory
# it was started in; then exits 0.
cd "$1" || exit 2
{
  echo "== cwd: $(pwd -P | sed 's,.*/,,')"
  find . -mindepth 1 | LC_ALL=C sort | while read -r p; do
    if [ -L "$p" ]; then echo "$p -> $(readlink "$p")"
    elif [ -d "$p" ]; then echo "$p/"
    else echo "$p $(stat -c "%s %h" "$p") $(md5sum < "$p" | cut -c1-32)"; fi
  done
} >> "$MANIFEST"
exit 0
