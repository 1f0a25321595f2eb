# shellcheck shell=sh
# bench-net: iperf3 against the host for tests/bench/run.sh (sourced by the
# test guest's /init; iperf3 comes with the bench initramfs).
#
#   vmrun.iperf=ADDR/PEER   the first virtio-net interface gets ADDR/24;
#                           the iperf3 server runs at PEER (the host's tap)
#   vmrun.iperf_time=SEC    seconds per direction (default 5)
#
# Markers: iperf_g2h=MBITS (guest sends), iperf_h2g=MBITS (-R: host sends),
# the receiver's average in Mbit/s.

export PATH=/usr/bin:$PATH LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/x86_64-linux-gnu

bench_iperf() {
	iperf3 -c "$1" -t "$2" -f m $3 >/tmp/iperf.out 2>&1
	awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") v = $i }
		END { if (v != "") print v }' /tmp/iperf.out
}

bench_net() {
	_p=$(cmdline_get vmrun.iperf 10.0.2.2/10.0.2.1)
	_t=$(cmdline_get vmrun.iperf_time 5)
	_if=
	for _i in 1 2 3 4 5 6 7 8 9 10; do
		_if=$(ls /sys/class/net | grep -v '^lo$' | head -n 1)
		[ -n "$_if" ] && break
		sleep 1
	done
	[ -n "$_if" ] || { fail no-nic; return 0; }
	ip addr add "${_p%/*}/24" dev "$_if" && ip link set "$_if" up
	_peer=${_p#*/}
	for _i in 1 2 3 4 5 6 7 8 9 10; do
		ping -c 1 -W 2 "$_peer" >/dev/null 2>&1 && break
	done
	for _d in g2h h2g; do
		_v=$(bench_iperf "$_peer" "$_t" "$([ $_d = h2g ] && echo -R)")
		if [ -n "$_v" ]; then
			marker "iperf_$_d" "$_v"
		else
			fail "iperf-$_d"
			tail -n 5 /tmp/iperf.out
		fi
	done
}

bench_net
