#!/bin/sh
# Init-container step: install multus-shim (and anything else given) into the host's CNI bin dir atomically.
# Each file is copied beside its destination under a temporary name, flushed to disk, made executable and then
# renamed over the old one. rename(2) never opens the old binary, so it works while a runtime is executing the
# old shim ("text file busy" is what a plain cp gets, upstream #1221); a reader sees the old or the new file,
# never half of one. Running it twice is harmless.
#
#   install-multus.sh [-d DEST_DIR] FILE...        (default DEST_DIR /host/opt/cni/bin)
set -eu

dest=/host/opt/cni/bin
if [ "${1:-}" = "-d" ]; then
  [ $# -ge 2 ] || { echo "install-multus: -d needs a directory" >&2; exit 2; }
  dest=$2
  shift 2
fi
[ $# -ge 1 ] || { echo "usage: install-multus.sh [-d DEST_DIR] FILE..." >&2; exit 2; }
[ -d "$dest" ] || { echo "install-multus: $dest is not a directory" >&2; exit 1; }

for src in "$@"; do
  [ -f "$src" ] || { echo "install-multus: $src is not a file" >&2; exit 1; }
  name=$(basename "$src")
  tmp="$dest/.$name.install.$$"
  trap 'rm -f "$tmp"' EXIT INT TERM
  cp "$src" "$tmp"
  chmod 0755 "$tmp"
  sync "$tmp"
  mv -f "$tmp" "$dest/$name"
  trap - EXIT INT TERM
  echo "install-multus: installed $dest/$name"
done
sync "$dest"
