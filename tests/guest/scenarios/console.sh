# shellcheck shell=sh
# console: for a guest whose console is hvc0 (virtio-console) only.  Reports
# the active console, then reads one line from it (the host types it once it
# sees ready=1): console=<active consoles>, line=<what was read>.  Fails when
# no line arrives within 60 s.
marker console "$(cat /sys/class/tty/console/active 2>/dev/null)"
marker ready 1
# shellcheck disable=SC3045  # busybox sh has read -t
if read -t 60 -r _line; then
	marker line "$_line"
else
	fail "no-line-on-the-console"
fi
true
