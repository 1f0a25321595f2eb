# shellcheck shell=sh
# exitcode: leave with the exit code given as vmrun.code=N (via vmrun.exit).
# Verdict PASS; the code tells the host that the debug-exit path carries values.
marker code "$VMRUN_CODE"
exit_code "$VMRUN_CODE"
