# shellcheck shell=sh
# idle: print a marker and wait, so the host can stop the VM from outside
# (SIGTERM, the API).  Fails only if nobody stops it within 10 minutes.
marker action idle
sleep 600
fail "nobody-stopped-the-vm"
