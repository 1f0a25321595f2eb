#!/bin/bash
# api-http.sh BUILD_DIR - the HTTP layer of `vmrun --api-sock` under hostile
# clients (docs/api.md, "Limits"), with no VM: the server waits for
# InstanceStart, so no /dev/kvm is needed.  Raw requests that smuggle
# (Content-Length with chunked, two lengths), NUL bytes in the path, a
# header or a JSON string, deep JSON, huge numbers, oversized bodies; then
# 2,000 idle, half-sent and trickling connections (slowloris), the 503 at
# the connection limit, and the per-request deadline; the same JSON cases
# in a config file (exit 2).  The client is
# python3 on the Unix socket only; every phase is bounded in connections
# and time and closes what it opened.
set -u
build=$(cd "${1:?usage: api-http.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

command -v python3 >/dev/null || { echo "skip: no python3"; exit 77; }
vmrun=$build/vmrun
work=$(mktemp -d)
sock=$work/api.sock
pid=""
trap '[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; rm -rf "$work"' EXIT

cat >"$work/client.py" <<'EOF'
import os, resource, socket, sys, time

sock_path = sys.argv[1]


def connect():
    """A Unix socket connect fails with EAGAIN while the listen backlog is
    full: retry for up to 5 s, as a client under load would."""
    until = time.monotonic() + 5
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect(sock_path)
            return s
        except BlockingIOError:
            s.close()
            if time.monotonic() > until:
                raise
            time.sleep(0.01)


def exchange(data, timeout=5.0):
    """Sends (data) and reads until the server closes: the answer."""
    s = connect()
    s.settimeout(timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
    except OSError:
        pass
    finally:
        s.close()
    return out


def show(answer):
    """The status code and body of an answer on one line."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b" ")[1].decode() if head.count(b" ") else "none"
    return status + " " + body.decode(errors="replace")


def get_root(timeout=5.0):
    t = time.monotonic()
    a = exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout)
    return show(a).split(" ")[0], time.monotonic() - t


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def cmd_raw():
    """The request with \\r, \\n, \\xHH and \\\\ escapes; "Content-Length: @"
    becomes the length of the body."""
    data = sys.argv[3].encode("latin-1").decode("unicode_escape")
    data = data.encode("latin-1")
    body = data.partition(b"\r\n\r\n")[2]
    data = data.replace(b"Content-Length: @", b"Content-Length: %d" % len(body))
    print(show(exchange(data)))


def cmd_slowloris():
    """N connections: a third idle, a third with half a head, a third
    trickling a byte every 0.5 s; then GET / must answer within 3 s."""
    n = int(sys.argv[3])
    raise_nofile(n + 64)
    conns = []
    try:
        for i in range(n):
            s = connect()
            s.setblocking(False)
            if i % 3 == 1:
                s.send(b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Le")
            conns.append(s)
        status, took = get_root()
        print("opened %d; GET / %s in %.2f s" % (len(conns), status, took))
        # Trickle for 3 s: the idle timeout of old is reset by each byte.
        for _ in range(6):
            for s in conns[2::3]:
                try:
                    s.send(b"X")
                except OSError:
                    pass
            time.sleep(0.5)
        status, took = get_root()
        print("trickling; GET / %s in %.2f s" % (status, took))
    finally:
        for s in conns:
            s.close()


def cmd_limit():
    """Idle connections up to M: the first answered one must be a 503
    that came at once, not silence."""
    m = int(sys.argv[3])
    raise_nofile(m + 64)
    conns = []
    try:
        for _ in range(m):
            conns.append(connect())
        busy = 0
        for s in conns:
            s.settimeout(0.01)
            try:
                if s.recv(4096).startswith(b"HTTP/1.1 503"):
                    busy += 1
            except socket.timeout:
                pass
        print("opened %d; %d answered 503" % (len(conns), busy))
        status, _ = get_root(2)
        print("at the limit, GET / %s" % status)
    finally:
        for s in conns:
            s.close()
    time.sleep(0.5)
    print("after, GET / %s" % get_root()[0])


def cmd_deadline():
    """A head trickled one byte a second, and a body that stops half-way:
    both are cut at the deadline however active they are."""
    t = time.monotonic()
    a = connect()
    b = connect()
    b.sendall(b"PUT /machine-config HTTP/1.1\r\nHost: x\r\n"
              b"Content-Length: 100\r\n\r\n{\"vcpu")
    a.settimeout(1)
    b.settimeout(0.1)
    cut_a = cut_b = None
    while time.monotonic() - t < 25 and (cut_a is None or cut_b is None):
        if cut_a is None:
            try:
                a.send(b"G")
                if a.recv(4096) is not None:
                    cut_a = time.monotonic() - t
            except socket.timeout:
                pass
            except OSError:
                cut_a = time.monotonic() - t
        if cut_b is None:
            try:
                b.recv(4096)
                cut_b = time.monotonic() - t
            except socket.timeout:
                pass
            except OSError:
                cut_b = time.monotonic() - t
    print("trickled head cut after %s s; stalled body cut after %s s"
          % tuple("never" if x is None else "%d" % round(x)
                  for x in (cut_a, cut_b)))


globals()["cmd_" + sys.argv[2]]()
EOF

# start_vmrun [PRLIMIT ARGS]: the API server, waiting for InstanceStart.
start_vmrun() {
	rm -f "$sock"
	"$@" "$vmrun" --log-level info --api-sock "$sock" \
		>"$work/stdout" 2>"$work/stderr" </dev/null &
	pid=$!
	wait_sock "$sock"
}

# stop_vmrun NAME: SIGTERM ends the server at once (exit 143), with no
# sanitizer report in its log.
stop_vmrun() {
	local rc

	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	pid=""
	expect "$1: SIGTERM stops vmrun (143)" 143 "$rc"
	if grep -qE 'Sanitizer|runtime error' "$work/stderr"; then
		not_ok "$1: no sanitizer report" "$(grep -m3 -E 'Sanitizer|runtime error' "$work/stderr")"
	fi
}

client() {
	timeout 60 python3 "$work/client.py" "$sock" "$@" 2>&1
}

# raw NAME WANT REQUEST: the answer to REQUEST (a Python bytes literal's
# text) starts with WANT ("400 {...").
raw() {
	local got

	got=$(client raw "$3")
	case $got in
	"$2"*) ok "$1" ;;
	*) not_ok "$1" "got: $got" ;;
	esac
}

start_vmrun || { not_ok "vmrun --api-sock starts" "no socket"; summary; }
h='HTTP/1.1\r\nHost: x\r\n'
mc='{"vcpu_count": 2, "mem_size_mib": 64}'

raw "a well-formed GET: 200" '200 {"id"' "GET / $h\r\n"
raw "Content-Length with chunked: 400" \
	'400 {"fault_message":"Content-Length and Transfer-Encoding together"}' \
	"PUT /machine-config ${h}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nPUT /machine-config ${h}Content-Length: ${#mc}\r\n\r\n$mc"
raw "two different Content-Length headers: 400" \
	'400 {"fault_message":"more than one Content-Length header"}' \
	"PUT /machine-config ${h}Content-Length: 2\r\nContent-Length: ${#mc}\r\n\r\n$mc"
raw "two equal Content-Length headers: 400" \
	'400 {"fault_message":"more than one Content-Length header"}' \
	"PUT /machine-config ${h}Content-Length: ${#mc}\r\nContent-Length: ${#mc}\r\n\r\n$mc"
raw "%00 in the path: 400, not applied to /machine-config" \
	'400 {"fault_message":"a NUL (%00) in the request target"}' \
	"PUT /machine-config%00/x ${h}Content-Length: ${#mc}\r\n\r\n$mc"
raw "a raw NUL in the path: 400" \
	'400 {"fault_message":"a NUL byte in the request head"}' \
	"PUT /machine-config\x00/x ${h}Content-Length: ${#mc}\r\n\r\n$mc"
raw "a NUL in a header value: 400" \
	'400 {"fault_message":"a NUL byte in the request head"}' \
	"GET / ${h}X-A: a\x00b\r\n\r\n"
raw "a bare LF line end: 400" \
	'400 {"fault_message":"a line ending in LF without CR"}' \
	"GET / HTTP/1.1\nHost: x\n\n"
raw "a folded header: 400" '400 {"fault_message":"a folded header line"}' \
	"GET / ${h} folded\r\n\r\n"
raw "Content-Length over the body limit: 400" \
	'400 {"fault_message":"a request body over the size limit"}' \
	"PUT /machine-config ${h}Content-Length: 65537\r\n\r\n{}"
raw "a chunked body over the limit: 400" \
	'400 {"fault_message":"request body: larger than 65536 bytes"}' \
	"PUT /machine-config ${h}Transfer-Encoding: chunked\r\n\r\n10010\r\n{$(printf '%*s' 65550 '')}\r\n0\r\n\r\n"
body='{"vcpu_count": 2, "mem_size_mib": 64, "cpu_template": "a\\u0000b"}'
raw "\\u0000 in a JSON string: 400 naming the key" \
	'400 {"fault_message":"request body: cpu_template: NUL in JSON string' \
	"PUT /machine-config ${h}Content-Length: @\r\n\r\n$body"
body="{\"x\": $(printf '[%.0s' $(seq 40))1$(printf ']%.0s' $(seq 40))}"
raw "JSON 40 deep: 400 too deep" \
	'400 {"fault_message":"request body: line 1, column 37: JSON nested deeper than 31 levels (too deep)"}' \
	"PUT /machine-config ${h}Content-Length: ${#body}\r\n\r\n$body"
body='{"vcpu_count": 1e309, "mem_size_mib": 64}'
raw "vcpu_count 1e309: 400 out of range" \
	'400 {"fault_message":"request body: vcpu_count: number out of range"}' \
	"PUT /machine-config ${h}Content-Length: ${#body}\r\n\r\n$body"
raw "nothing above was applied" '200 {"vcpu_count":1,"mem_size_mib":128' \
	"GET /machine-config $h\r\n"
expect_grep "refusals are logged, one line each" \
	'api: request refused: a NUL byte in the request head$' "$work/stderr"
if grep -q "$(printf '\r')" "$work/stderr"; then
	not_ok "no control bytes in the log" "a CR in the log"
else
	ok "no control bytes in the log"
fi

# Slowloris: 2,000 connections need the descriptors (vmrun raises its own
# soft limit as far as the hard one allows and serves up to half of them);
# under a lower hard limit, as many as fit.
n=2000
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 4400 ]; then
	n=$((hard / 2 - 200))
	echo "# hard RLIMIT_NOFILE $hard: $n connections instead of 2,000"
fi
out=$(client slowloris "$n")
echo "$out" | sed 's/^/    | /'
case $out in
*"opened $n; GET / 200"*"trickling; GET / 200"*)
	ok "slowloris: GET / answers under $n idle, half-sent and trickling connections" ;;
*) not_ok "slowloris: GET / answers under $n connections" "$out" ;;
esac
raw "slowloris: still serving afterwards" '200 {"id"' "GET / $h\r\n"
stop_vmrun "after hostile requests"

# The limit: with 600 descriptors vmrun serves 300 connections.
start_vmrun prlimit --nofile=600:600
out=$(client limit 320)
echo "$out" | sed 's/^/    | /'
case $out in
*"opened 320; "[0-9]*" answered 503"*) n=${out#*opened 320; }; n=${n%% answered*}
	if [ "$n" -ge 19 ] && [ "$n" -le 21 ]; then
		ok "past the connection limit: 503 at once ($n of 320)"
	else
		not_ok "past the connection limit: 503 at once" "$out"
	fi ;;
*) not_ok "past the connection limit: 503 at once" "$out" ;;
esac
case $out in
*"at the limit, GET / 503"*"after, GET / 200"*) ok "at the limit GET / gets 503, then 200 once clients leave" ;;
*) not_ok "at the limit GET / gets 503, then 200" "$out" ;;
esac
stop_vmrun "after the limit"

# Config files go through the same JSON reader: exit 2 with one line.
# cfg NAME WANT JSON: `vmrun FILE` exits 2 and its message contains WANT.
cfg() {
	local rc

	printf '%s' "$3" >"$work/c.json"
	"$vmrun" "$work/c.json" >/dev/null 2>"$work/c.err" </dev/null
	rc=$?
	if [ "$rc" = 2 ] && grep -qF -- "$2" "$work/c.err"; then
		ok "$1"
	else
		not_ok "$1" "exit $rc: $(cat "$work/c.err")"
	fi
}
cfg "config: \\u0000 in a path: exit 2 naming the key" \
	"c.json: boot-source.kernel_image_path: NUL in JSON string (\u0000)" \
	'{"boot-source": {"kernel_image_path": "/k\u0000/../etc/shadow"}}'
cfg "config: 40 levels: exit 2, too deep" \
	"c.json: line 1, column 33: JSON nested deeper than 32 levels (too deep)" \
	"$(printf '[%.0s' $(seq 40))$(printf ']%.0s' $(seq 40))"
cfg "config: vcpu_count 1e309: exit 2, out of range" \
	"c.json: machine-config.vcpu_count: number out of range" \
	'{"boot-source": {"kernel_image_path": "/k"}, "machine-config": {"vcpu_count": 1e309, "mem_size_mib": 64}}'

# The deadline: 10 s for the whole request, not reset by each byte.
start_vmrun
out=$(client deadline)
echo "$out" | sed 's/^/    | /'
case $out in
*"head cut after "1[0-2]" s; stalled body cut after "1[0-2]" s"*)
	ok "a trickled head and a stalled body are cut at the 10 s deadline" ;;
*) not_ok "a trickled head and a stalled body are cut at the 10 s deadline" "$out" ;;
esac
raw "serving after the deadline cuts" '200 {"id"' "GET / $h\r\n"
stop_vmrun "after the deadline cuts"

# The REST server module (docs/api.md, "Design"): a vmrun copied out of its
# build folder loads only the installed module, and says which one it
# could not load, before it creates the socket.
cp "$vmrun" "$work/vmrun-copy"
"$work/vmrun-copy" --api-sock "$sock" >"$work/copy.out" 2>&1
expect "module: a vmrun outside its build without an installed module: exit 1" 1 "$?"
expect_grep "module: the message names the installed module's path" \
	'^vmrun: api-sock: cannot load the REST server /.*/vmrun/vmrun-api\.so: ' "$work/copy.out"
expect "module: one line" 1 "$(wc -l <"$work/copy.out")"
[ ! -e "$sock" ]
expect "module: no socket was created" 0 "$?"

summary
