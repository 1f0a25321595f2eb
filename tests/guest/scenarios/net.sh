# shellcheck shell=sh
# net: virtio-net checks for tests/integration/net-suite.sh.  The host side
# (taps in a network namespace, nc listeners) is the suite's; every result the
# host judges is a marker.
#
#   vmrun.nics=MAC/ADDR/PEER[,...]  NIC I (from 0) is the interface whose
#       address is MAC: nic<I>=<ifname> (fail when none has it); it gets
#       ADDR/24 and is brought up.  Then net_up=1.
#   vmrun.net=OP[,OP...]  run in order:
#     ping:I     ping -c 3 the PEER of NIC I: ping<I>=ok|fail-STATUS, then
#                pkts<I>=RX/TX (the interface's packet counters)
#     send:MIB   MIB MiB (one random MiB repeated) to PEER0 port 5001:
#                sent_md5=<md5 of the stream>, send_rc=, send_mbs=
#     recv:MIB   everything PEER0 port 5002 sends (MIB MiB expected, for the
#                rate): recv_md5=, recv_mbs=
#     token      listen on port 5003 (120 s) for one line: token=<line>
#
# busybox nc quits when the network side reaches EOF, so a receiving nc keeps
# its stdin open on a FIFO nobody writes to (opened read-write: never blocks,
# never EOF) and ends on the sender's EOF.

NET_BLOCK=/tmp/net-block
NET_HOLD=/tmp/net-hold
mkdir -p /tmp
mkfifo "$NET_HOLD"

# net_gen MIB: the test stream, NET_BLOCK MIB times.
net_gen() {
	_n=0
	while [ "$_n" -lt "$1" ]; do
		cat "$NET_BLOCK"
		_n=$((_n + 1))
	done
}

net_now() { cut -d' ' -f1 /proc/uptime; }

# net_mbs MIB T0 T1: MB/s (10^6 bytes) of MIB MiB moved between T0 and T1.
net_mbs() {
	awk -v m="$1" -v a="$2" -v b="$3" \
		'BEGIN { d = b - a; if (d < 0.01) d = 0.01; printf "%.1f", m * 1.048576 / d }'
}

# net_field I N: field N (1 MAC, 2 ADDR, 3 PEER) of NIC I in vmrun.nics.
net_field() {
	cmdline_get vmrun.nics "" | tr ',' '\n' | sed -n "$(($1 + 1))p" | cut -d/ -f"$2"
}

# net_ifname MAC: the interface with that address (probing is asynchronous).
net_ifname() {
	_i=0
	while [ "$_i" -lt 50 ]; do
		for _d in /sys/class/net/*; do
			[ "$(cat "$_d/address" 2>/dev/null)" = "$1" ] && { basename "$_d"; return 0; }
		done
		sleep 0.1
		_i=$((_i + 1))
	done
	return 1
}

net_setup() {
	_i=0
	while [ -n "$(net_field "$_i" 1)" ]; do
		if ! _if=$(net_ifname "$(net_field "$_i" 1)"); then
			marker "nic$_i" none
			fail "no-interface-with-mac-$(net_field "$_i" 1)"
			return 1
		fi
		marker "nic$_i" "$_if"
		if ! ip addr add "$(net_field "$_i" 2)/24" dev "$_if" || ! ip link set "$_if" up; then
			fail "cannot-configure-$_if"
			return 1
		fi
		_i=$((_i + 1))
	done
	ip link set lo up
	marker net_up 1
}

net_ping() {
	_if=$(net_ifname "$(net_field "$1" 1)")
	if ping -c 3 -w 20 "$(net_field "$1" 3)" >/dev/null 2>&1; then
		marker "ping$1" ok
	else
		marker "ping$1" "fail-$?"
	fi
	marker "pkts$1" "$(cat "/sys/class/net/$_if/statistics/rx_packets")/$(cat "/sys/class/net/$_if/statistics/tx_packets")"
}

net_send() {
	[ -s "$NET_BLOCK" ] || dd if=/dev/urandom of="$NET_BLOCK" bs=1M count=1 2>/dev/null
	marker sent_md5 "$(net_gen "$1" | md5sum | cut -d' ' -f1)"
	_t0=$(net_now)
	net_gen "$1" | nc "$(net_field 0 3)" 5001
	marker send_rc $?
	marker send_mbs "$(net_mbs "$1" "$_t0" "$(net_now)")"
}

net_recv() {
	_t0=$(net_now)
	_sum=$(nc "$(net_field 0 3)" 5002 0<>"$NET_HOLD" | md5sum | cut -d' ' -f1)
	_t1=$(net_now)
	marker recv_md5 "$_sum"
	# The host sends $1 MiB; the rate is only meaningful when the sums match.
	marker recv_mbs "$(net_mbs "$1" "$_t0" "$_t1")"
}

net_setup || return 0
for _op in $(cmdline_get vmrun.net "" | tr ',' ' '); do
	case $_op in
	ping:*) net_ping "${_op#ping:}" ;;
	send:*) net_send "${_op#send:}" ;;
	recv:*) net_recv "${_op#recv:}" ;;
	token) marker token "$(timeout 120 nc -l -p 5003 0<>"$NET_HOLD" | head -n 1)" ;;
	*) fail "unknown-net-op-$_op" ;;
	esac
done
true
