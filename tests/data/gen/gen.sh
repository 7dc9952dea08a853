#!/bin/sh
# Regenerate the docformat sample documents in tests/data.
# Needs: a C compiler, libcups2-dev, ghostscript (for small.jpg).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=$(dirname "$here")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

${CC:-cc} -std=c11 -D_GNU_SOURCE -Wall -Wextra -O1 -o "$tmp/gen-samples" \
  "$here/gen-samples.c" -lcups
"$tmp/gen-samples" "$data"

# A small baseline JPEG: page 1 rendered at 20 dpi.
gs -q -dSAFER -dNOPAUSE -dBATCH -sDEVICE=jpeg -r20 -dJPEGQ=60 \
  -sOutputFile="$data/small.jpg" "$data/onepage.pdf"
ls -l "$data"
