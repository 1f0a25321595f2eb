#!/bin/bash
# net-loop-box.sh BUILD_DIR [OUT_DIR] - runs net-loop.sh in the lab box with
# vmrun, QEMU, ip and bash as payloads (see net-loop.sh for the knobs).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: net-loop-box.sh BUILD_DIR [OUT_DIR]}" && pwd) || exit 2
out=${2:-$(mktemp -d /var/tmp/net-loop.XXXXXX)}
mkdir -p "$out"
echo "net-loop: results in $out" >&2
exec "$repo/tests/lab/box.sh" --timeout "$((${VMRUN_LOOP_SECS:-1800} + 1500))" --mem 3072 \
	--payload "$build" --payload "$repo/tests" --payload /bin/bash \
	--payload "$(command -v ip)" --payload "$(command -v qemu-system-x86_64)" \
	${VMRUN_LOOP_BUILD2:+--payload "$VMRUN_LOOP_BUILD2"} --payload /usr/share/qemu --payload "$(command -v pkill)" --out "$out" -- \
	"$repo/tests/integration/net-loop.sh" "$build"
