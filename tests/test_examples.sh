#!/bin/sh
# tests/test_examples.sh: runs every example and checks what it prints.
# Every run is bounded by timeout(1); FIFOs carry our pid and are removed.
set -u
bin=${top_builddir:-.}/examples
tmp=$(mktemp -d)
fifo=/tmp/mproc-test-examples-$$-fifo
trap 'rm -rf "$tmp"; rm -f "$fifo"' EXIT
failures=0
n=0

fail() {
	echo "not ok $n - $*"
	sed 's/^/#   /' "$tmp/out" "$tmp/err"
	failures=$((failures + 1))
}

# run NAME [ARGS...]: runs example NAME bounded; it must exit 0.  Its
# output is in $tmp/out, its errors in $tmp/err.
run() {
	name=$1
	shift
	n=$((n + 1))
	timeout 30 "$bin/$name" "$@" >"$tmp/out" 2>"$tmp/err"
	status=$?
	if [ $status -eq 0 ]; then
		echo "ok $n - $name $*"
	else
		fail "$name $* exited with $status"
	fi
}

# has LINE...: each LINE (a fixed string) is a whole line of the output.
has() {
	for line in "$@"; do
		grep -qxF -- "$line" "$tmp/out" || fail "no line '$line'"
	done
}

# is TEXT: the output is exactly TEXT (printf format).
is() {
	# shellcheck disable=SC2059
	printf "$1" >"$tmp/want"
	cmp -s "$tmp/want" "$tmp/out" || fail "output is not: $1"
}

run process_start
has "hello, bob from Process-1" "Process-1 exited with 0" \
    "sum of 0 .. 9 is 45 in Counter-1" "Counter-1 exited with 0"

run process_ids
main=$(sed -n 's/^main line (MainProcess): pid \([0-9]*\), parent [0-9]*$/\1/p' "$tmp/out")
child=$(sed -n 's/^started Process-1: pid \([0-9]*\)$/\1/p' "$tmp/out")
[ -n "$main" ] && [ -n "$child" ] && [ "$main" != "$child" ] ||
	fail "no distinct pids for the main line and the child"
has "function f (Process-1): pid $child, parent $main" "hello bob"

run process_join
is 'after 50 ms: still running: yes\njoined: exit code 7\n'

run process_daemon
# (Not "daemon starting": on a loaded machine the daemon may not have run
# at all before the program ends, and that is fine.)
has "worker starting" "worker exiting"
grep -q "daemon exiting" "$tmp/out" && fail "the daemon outlived the program"
daemon=$(sed -n 's/^MainProcess exiting; daemon \([0-9]*\) is terminated$/\1/p' "$tmp/out")
[ -n "$daemon" ] || fail "no daemon pid"
# running PID: the process exists and is not a zombie.
running() {
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] &&
		! sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | grep -q '^Z'
}
# The daemon must be gone once the program has exited.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	running "$daemon" || break
	sleep 0.2
done
if running "$daemon"; then
	kill -9 "$daemon"
	fail "the daemon $daemon still runs after the program ended"
fi

run process_terminate
is 'before start: alive no\nrunning: alive yes\njoined: alive no, exit code -15\n'

run pipe_hello
grep -q 'hello father' "$tmp/out" && grep -q 'hi son' "$tmp/out" ||
	fail "father and son did not greet each other"

run memory_isolation
is 'in the child: [1, 4, 9, 16]\nin the parent: []\n'

run queue_writer_reader
is 'read: message 0\nread: message 1\nread: message 2\nread: message 3\nread: message 4\nthe queue is shut down and empty\n'

run pool_apply_async
is '[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]\n'

run zombie_reaped
grep -q '^child [0-9]* ended, not yet joined: state Z$' "$tmp/out" ||
	fail "the ended child was not a zombie before join"
has "after join: state - (no such process: reaped)"

# Two unrelated programs: the reader in the background, the writer here.
timeout 30 "$bin/fifo_two_programs" reader "$fifo" >"$tmp/reader" 2>&1 &
reader=$!
run fifo_two_programs writer "$fifo"
wait $reader
status=$?
mv "$tmp/reader" "$tmp/out"
[ $status -eq 0 ] || fail "fifo reader exited with $status"
[ "$(grep -c '^got: hello [123] from process [0-9]*$' "$tmp/out")" -eq 3 ] ||
	fail "the reader did not get 3 messages"
[ -e "$fifo" ] && fail "the reader left the FIFO behind"

# The demo: several shapes, all with nothing lost.
for args in "-n 2000" "-p 1 -c 3 -n 3000 -s 8-4000 -q 8" "-p 3 -c 1 -n 1000 -s 64 -q 1"; do
	# shellcheck disable=SC2086
	run producer_consumer $args
	has "nothing lost: every message arrived once, intact"
	grep -q '^per consumer:\( [0-9][0-9]*\)*$' "$tmp/out" ||
		fail "no per-consumer counts"
done

# The demo must notice a loss: SIGKILL its children in mid-run.  (timeout
# is the demo's parent here, so its children are our grandchildren.)
n=$((n + 1))
timeout 60 "$bin/producer_consumer" -p 2 -c 2 -n 1000000 >"$tmp/out" 2>"$tmp/err" &
bounded=$!
kids=
for _ in $(seq 100); do
	demo=$(pgrep -P "$bounded")
	[ -n "$demo" ] && kids=$(pgrep -P "$demo" | tr '\n' ' ')
	[ "$(echo $kids | wc -w)" -ge 4 ] && break
	sleep 0.05
done
[ -n "$kids" ] && kill -9 $kids
wait $bounded
status=$?
if [ $status -eq 1 ] && grep -qx "MESSAGES LOST OR DAMAGED" "$tmp/out"; then
	echo "ok $n - producer_consumer exits 1 when its children are killed"
else
	fail "producer_consumer with killed children exited $status"
fi

echo "# $failures failures in $n checks"
[ "$failures" -eq 0 ]
