#!/usr/bin/env bash
# bench/plot.sh BUILDDIR [OUT.png]
#
# Draws libmproc's Queue against its peers: throughput in MB/s (log)
# against message size (log), 1 producer -> 1 consumer process, one line
# per transport, from `bench_queue -w SWEEP`.  BUILDDIR must be configured
# already (scripts/setup BUILDDIR); this runs `make bench` there, installs
# gnuplot-nox with apt-get if gnuplot is missing, keeps the numbers in
# BUILDDIR/bench/throughput.dat and writes OUT.png (default
# bench/throughput.png in the source tree).
#
# Environment: ROUNDS (default 5), SIZES (bench_queue -z, e.g. 64,4K,64K),
# SLOTS (bench_queue -c: messages each queue holds, default 256).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
builddir=${1:?usage: bench/plot.sh BUILDDIR [OUT.png]}
out=${2:-$top/bench/throughput.png}
rounds=${ROUNDS:-5}
data=$builddir/bench/throughput.dat

install_gnuplot() {
	command -v gnuplot >/dev/null && return 0
	dpkg-query -W -f='${Status}\n' gnuplot-nox 2>/dev/null |
		grep -q '^install ok installed$' && return 0
	echo "plot.sh: installing gnuplot-nox"
	local sudo=
	((EUID == 0)) || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		--no-install-recommends gnuplot-nox >/dev/null
}

# The data rows regrouped as one gnuplot block (index) per transport, in
# the order bench_queue prints them (mproc first).
blocks() {
	awk '!/^#/ && NF { if (!($1 in seen)) { seen[$1] = n++; name[seen[$1]] = $1 }
			   rows[seen[$1]] = rows[seen[$1]] $0 "\n" }
	     END { for (i = 0; i < n; i++) printf "%s\n\n", rows[i] }' "$data"
}

# 16 -> "16", 4096 -> "4K", for the x tics.
xtics() {
	awk '!/^#/ && NF && !($2 in seen) { seen[$2]
		label = $2 % 1048576 == 0 ? $2 / 1048576 "M" : $2 % 1024 == 0 ? $2 / 1024 "K" : $2
		printf "%s\"%s\" %s", sep, label, $2; sep = ", " }' "$data"
}

# "posix-mq carries at most 8192 B (fs.mqueue.msgsize_max)", once per peer.
skipped() {
	awk '/^# skipped/ { sub(/^# skipped /, ""); sub(/ at [0-9]+ B: it/, "")
			    sub(/ here/, ""); print }' "$data" | sort -u |
		paste -sd ';' | sed 's/;/; /g'
}

install_gnuplot
make -C "$builddir" bench >/dev/null
"$builddir/bench/bench_queue" -r "$rounds" ${SIZES:+-z "$SIZES"} ${SLOTS:+-c "$SLOTS"} \
	-w SWEEP | tee "$data"

transports=$(awk '!/^#/ && NF && !($1 in seen) { seen[$1]; print $1 }' "$data" | paste -sd ' ')
slots=$(awk '/^# capacity/ { print $3; exit }' "$data")
depth=$(awk '/^# depth:/ { sub(/^# /, ""); print; exit }' "$data")
cpu=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
where="median of $rounds interleaved rounds, $(date -u +%F), $(nproc) CPUs (${cpu:-unknown}), Linux $(uname -r)"

blocks >"$data.blocks"
gnuplot <<EOF
set terminal pngcairo noenhanced size 1000,640 font "sans,10"
set output "$out"
set title "libmproc Queue (mproc) and its peers: 1 producer → 1 consumer process, queues of $slots messages (see below)\n$where"
set xlabel "message size (bytes)"
set ylabel "throughput, higher is better (MB/s, 1 MB = 10⁶ bytes)"
set logscale xy
set xtics ($(xtics))
set grid xtics ytics mytics
set key outside right top
set bmargin 6
set label 1 "$depth" at screen 0.01, screen 0.045 font "sans,8"
set label 2 "$(skipped)" at screen 0.01, screen 0.02 font "sans,8"
transports = "$transports"
plot for [i = 1:words(transports)] "$data.blocks" index (i - 1) using 2:4 \
	with linespoints linewidth (i == 1 ? 3 : 1.5) pointtype (i + 4) \
	title word(transports, i)
EOF
rm -f "$data.blocks"
echo "plot.sh: wrote $out (numbers in $data)"
