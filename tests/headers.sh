#!/bin/sh
# Every public header compiles alone, as C99 and as C++.
set -eu
src=${top_srcdir:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for h in "$src"/include/mproc.h "$src"/include/mproc/*.h; do
	name=${h#"$src"/include/}
	printf '#include <%s>\nint main(void) { return 0; }\n' "$name" > "$tmp/t.c"
	cp "$tmp/t.c" "$tmp/t.cc"
	if ! ${CC:-cc} -std=c99 -pedantic -Wall -Wextra -Werror -I"$src/include" \
	    -c "$tmp/t.c" -o "$tmp/t.o"; then
		echo "headers.sh: $name fails as C99"; status=1
	fi
	if ! ${CXX:-c++} -std=c++11 -pedantic -Wall -Wextra -Werror -I"$src/include" \
	    -c "$tmp/t.cc" -o "$tmp/t.o"; then
		echo "headers.sh: $name fails as C++"; status=1
	fi
done
test $status -eq 0 && echo "headers.sh: every header compiles alone as C99 and C++"
exit $status
