#!/bin/sh
# The library exports mproc_* names and nothing else.
set -eu
lib=${top_builddir:-.}/lib/.libs/libmproc.so
test -f "$lib" || { echo "exports.sh: no $lib (static-only build?)"; exit 77; }
bad=$(${NM:-nm} -D --defined-only "$lib" |
	awk '$2 != "A" && $3 !~ /^mproc_/ { print $3 }')
if test -n "$bad"; then
	echo "exports.sh: symbols exported without the mproc_ prefix:"
	echo "$bad"
	exit 1
fi
n=$(${NM:-nm} -D --defined-only "$lib" | awk '$3 ~ /^mproc_/' | wc -l)
echo "exports.sh: $n mproc_ symbols, nothing else"
