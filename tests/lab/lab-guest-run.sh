#!/bin/sh
# lab-guest-run.sh QEMU-ARGS... — runs on the KVM host (inside the box, or directly):
# prints "LAB: qemu-start", then boots the test guest with QEMU and streams its
# console. The caller (test_lab.sh) times the lines as they arrive: the box's own
# clock is not trusted for that (under TCG it drifts with the host's load).
# Exits with QEMU's status. POSIX sh: in the box it is busybox sh.
echo "LAB: qemu-start"
exec qemu-system-x86_64 "$@" </dev/null
