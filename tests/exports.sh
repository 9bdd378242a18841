#!/bin/sh
# The library exports exactly the names of lib/mproc.map: every one of
# them is defined, and nothing without the mproc_ prefix is exported.
set -eu
lib=${top_builddir:-.}/lib/.libs/libmproc.so
map=${top_srcdir:-.}/lib/mproc.map
test -f "$lib" || { echo "exports.sh: no $lib (static-only build?)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

${NM:-nm} -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort > "$tmp/exported"
sed -n 's/^[[:space:]]*\(mproc_[a-z0-9_]*\);$/\1/p' "$map" | sort > "$tmp/promised"

status=0
bad=$(grep -v '^mproc_' "$tmp/exported" || true)
if test -n "$bad"; then
	echo "exports.sh: exported without the mproc_ prefix:"; echo "$bad"; status=1
fi
missing=$(comm -23 "$tmp/promised" "$tmp/exported")
if test -n "$missing"; then
	echo "exports.sh: in lib/mproc.map but not defined:"; echo "$missing"; status=1
fi
test $status -eq 0 &&
	echo "exports.sh: the $(wc -l < "$tmp/promised") names of lib/mproc.map, nothing else"
exit $status
