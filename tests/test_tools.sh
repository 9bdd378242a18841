#!/bin/sh
# tests/test_tools.sh: the mproc command, against a C peer (tests/tools_peer)
# on the other side of each queue.  Every command runs under timeout(1);
# names carry our pid; everything we make is removed on exit.
set -u
bin=${top_builddir:-.}
mproc=$bin/tools/mproc
peer=$bin/tests/tools_peer
prefix=mproc-test-tools-$$
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; rm -f /dev/shm/"$prefix"-*' EXIT
failures=0
n=0

# run EXPECTED_STATUS COMMAND...: runs it bounded, output in $tmp/out and
# $tmp/err; a failure if the status differs.
run() {
	want=$1
	shift
	timeout 10 "$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	n=$((n + 1))
	if [ "$got" -eq "$want" ]; then
		echo "ok $n - $* -> $got"
	else
		echo "not ok $n - $* -> $got, expected $want"
		sed 's/^/#   stderr: /' "$tmp/err"
		failures=$((failures + 1))
	fi
}

# expect_out TEXT: the last command printed exactly TEXT (printf format).
expect_out() {
	# shellcheck disable=SC2059
	printf "$1" >"$tmp/want"
	if ! cmp -s "$tmp/want" "$tmp/out"; then
		echo "not ok $n - output differs:"
		diff "$tmp/want" "$tmp/out" | sed 's/^/#   /'
		failures=$((failures + 1))
	fi
}

# expect_err PATTERN: the last command wrote one line matching PATTERN.
expect_err() {
	if [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q -- "$1" "$tmp/err"; then
		echo "not ok $n - stderr is not one line matching '$1':"
		sed 's/^/#   /' "$tmp/err"
		failures=$((failures + 1))
	fi
}

q=/$prefix-q
q2=/$prefix-q2
seg=/$prefix-seg
plain=/$prefix-plain

echo "# usage errors exit 2"
run 2 "$mproc"
run 2 "$mproc" bogus
expect_err "unknown command"
run 2 "$mproc" get
run 2 "$mproc" get "$q" -t soon
run 2 "$mproc" get "$q" -n -1
run 2 "$mproc" put "$q"
run 2 "$mproc" stat "$q" extra
run 0 "$mproc" --help
grep -q 'mproc get' "$tmp/out" || { echo "not ok - --help lists get"; failures=$((failures + 1)); }

echo "# missing and invalid names exit 2 with one line naming the object"
run 2 "$mproc" stat "$q"
expect_err "stat $q: No such file or directory"
run 2 "$mproc" get "$q" -t 0
expect_err "$q: No such file or directory"
run 2 "$mproc" stat no-slash
expect_err "no-slash: Invalid argument"
run 2 "$mproc" rm "$q"

echo "# a queue made in C is listed and its stats read"
run 0 "$peer" queue "$q" 4 64
run 0 "$mproc" ls
grep -q "^queue  *$q  *0/4 64 0600\$" "$tmp/out" ||
	{ echo "not ok - ls shows $q"; cat "$tmp/out"; failures=$((failures + 1)); }
run 0 "$mproc" stat "$q"
expect_out 'puts: 0\ngets: 0\ndepth: 0\nhigh_water: 0\nputters_waiting: 0\ngetters_waiting: 0\nshut_down: false\ncapacity: 4\nmsg_size: 64\n'

echo "# shell to C and C to shell"
run 0 "$mproc" put "$q" "hello from the shell"
run 0 "$peer" get "$q" 1 5000
expect_out 'hello from the shell\n'
run 0 "$peer" put "$q" one two three
run 0 "$mproc" get "$q" -n 2
expect_out 'one\ntwo\n'
run 0 "$mproc" get "$q"
expect_out 'three\n'

echo "# put - puts each line of stdin without its newline"
printf 'a\nb\n\nlast without newline' >"$tmp/in"
run 0 sh -c "\"$mproc\" put \"$q\" - <\"$tmp/in\""
run 0 "$peer" get "$q" 4 5000
expect_out 'a\nb\n\nlast without newline\n'

echo "# put - stops at the first line that does not fit: full, or too long"
printf '1\n2\n3\n4\n5\n6\n' >"$tmp/in"
run 1 sh -c "\"$mproc\" put -t 0 \"$q\" - <\"$tmp/in\""
run 0 "$mproc" get "$q" -n 0
expect_out '1\n2\n3\n4\n'
printf 'short\n%065d\nnever put\n' 0 >"$tmp/in"
run 2 sh -c "\"$mproc\" put \"$q\" - <\"$tmp/in\""
expect_err "$q: Message too long"
run 0 "$mproc" get "$q" -n 0
expect_out 'short\n'

echo "# an empty queue: exit 1, at once or after -t"
run 1 "$mproc" get "$q" -t 0
expect_out ''
run 1 "$mproc" get "$q" -t 100
run 1 "$mproc" get "$q" -n 0
run 0 "$mproc" put "$q" x
run 0 "$mproc" get "$q" -n 3 -t 100
expect_out 'x\n'

echo "# get waits for a message put later"
timeout 10 "$mproc" get "$q" >"$tmp/late" 2>&1 &
getter=$!
sleep 0.2
run 0 "$peer" put "$q" late
wait $getter
status=$?
n=$((n + 1))
if [ $status -eq 0 ] && [ "$(cat "$tmp/late")" = late ]; then
	echo "ok $n - a waiting get receives a later put"
else
	echo "not ok $n - waiting get: status $status, output '$(cat "$tmp/late")'"
	failures=$((failures + 1))
fi

echo "# a full queue: put -t exits 1; a message too long exits 2"
run 0 "$peer" put "$q" 1 2 3 4
run 1 "$mproc" put -t 0 "$q" five
run 1 "$mproc" put -t 100 "$q" five
run 0 "$mproc" stat "$q"
grep -q '^depth: 4$' "$tmp/out" && grep -q '^high_water: 4$' "$tmp/out" ||
	{ echo "not ok - stat after fill"; cat "$tmp/out"; failures=$((failures + 1)); }
run 0 "$mproc" get "$q" -n 0
expect_out '1\n2\n3\n4\n'
run 2 "$mproc" put "$q" "$(printf '%065d' 0)"
expect_err "$q: Message too long"

echo "# a blocked get is counted in stat, and shutdown wakes it with exit 1"
run 0 "$peer" queue "$q2" 4 64
timeout 10 "$mproc" get "$q2" >"$tmp/blocked" 2>&1 &
getter=$!
for _ in $(seq 50); do
	timeout 10 "$mproc" stat "$q2" | grep -q '^getters_waiting: 1$' && break
	sleep 0.1
done
run 0 "$mproc" stat "$q2"
grep -q '^getters_waiting: 1$' "$tmp/out" ||
	{ echo "not ok - stat counts the blocked getter"; failures=$((failures + 1)); }
run 0 "$mproc" shutdown "$q2"
wait $getter
status=$?
n=$((n + 1))
if [ $status -eq 1 ] && [ ! -s "$tmp/blocked" ]; then
	echo "ok $n - a blocked get exits 1 at shutdown"
else
	echo "not ok $n - blocked get: status $status, output '$(cat "$tmp/blocked")'"
	failures=$((failures + 1))
fi
run 0 "$mproc" rm "$q2"

echo "# shutdown: put fails, get drains what is left, then exits 1"
run 0 "$mproc" put "$q" left
run 0 "$mproc" shutdown "$q"
run 0 "$mproc" stat "$q"
grep -q '^shut_down: true$' "$tmp/out" ||
	{ echo "not ok - stat shows shut_down"; failures=$((failures + 1)); }
run 2 "$mproc" put "$q" more
expect_err "$q: Broken pipe"
run 0 "$mproc" get "$q"
expect_out 'left\n'
run 1 "$mproc" get "$q"

echo "# segments, and plain files in /dev/shm, are segments"
run 0 "$peer" segment "$seg" 4096
printf 'not ours' >"/dev/shm$plain"
chmod 0644 "/dev/shm$plain"
run 0 "$mproc" ls
grep -q "^segment  *$seg  *4096 0600\$" "$tmp/out" &&
	grep -q "^segment  *$plain  *8 0644\$" "$tmp/out" ||
	{ echo "not ok - ls shows segments"; cat "$tmp/out"; failures=$((failures + 1)); }
run 0 "$mproc" stat "$seg"
expect_out 'size: 4096\n'
run 2 "$mproc" get "$seg" -t 0
expect_err "$seg: Protocol error (not a libmproc queue)"
run 2 "$mproc" shutdown "$seg"

echo "# rm removes queues and segments"
run 0 "$mproc" rm "$q"
run 0 "$mproc" rm "$seg"
run 0 "$mproc" rm "$plain"
run 2 "$mproc" rm "$q"
expect_err "rm $q: No such file or directory"
run 0 "$mproc" ls
if grep -q "$prefix" "$tmp/out"; then
	echo "not ok - ls still lists our objects"
	failures=$((failures + 1))
fi

echo "# $failures failures in $n checks"
[ "$failures" -eq 0 ]
