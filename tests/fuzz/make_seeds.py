#!/usr/bin/env python3
"""make_seeds.py - writes the hand-made seed inputs of tests/fuzz/corpus/.

Each file is one libFuzzer input in the layout its harness documents.  Run
it again after changing a harness's input layout; finds merged by
run.sh --campaign live next to these (named by their SHA-1)."""
import json
import os
import struct
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# ---- config: JSON texts; relative paths resolve against "/" -------------
KERNEL = {"kernel_image_path": "/bin/sh"}


def config_seeds():
    base = {"boot-source": dict(KERNEL, boot_args="console=ttyS0"),
            "machine-config": {"vcpu_count": 1, "mem_size_mib": 128}}
    full = {
        "boot-source": {"kernel_image_path": "bin/sh",
                        "initrd_path": "/etc/hostname",
                        "boot_args": "console=ttyS0 quiet"},
        "drives": [{"drive_id": "rootfs", "path_on_host": "/dev/null",
                    "is_root_device": True, "is_read_only": True,
                    "cache_type": "Writeback", "io_engine": "Async",
                    "partuuid": None, "rate_limiter": None}],
        "machine-config": {"vcpu_count": 2, "mem_size_mib": 1024,
                           "smt": False, "track_dirty_pages": False,
                           "cpu_template": "None", "huge_pages": "None"},
        "network-interfaces": [{"iface_id": "eth0",
                                "guest_mac": "06:00:AC:10:00:02",
                                "host_dev_name": "tap0", "mtu": 1500}],
        "entropy": {},
        "vsock": None, "balloon": None, "logger": None, "metrics": None,
        "mmds-config": None,
        "vmrun": {"serial": {"output": "stdout", "input": True},
                  "virtio-console": {"output": "file",
                                     "path": "/tmp/console.log",
                                     "input": False},
                  "virtio-mmio-cmdline": True},
    }
    put("config", "minimal.json", json.dumps(base))
    put("config", "full.json", json.dumps(full, indent=1))
    bad = [
        ("unknown-key", dict(base, bogus=1)),
        ("vcpu-string", {**base, "machine-config": {"vcpu_count": "two",
                                                    "mem_size_mib": 128}}),
        ("vcpu-zero", {**base, "machine-config": {"vcpu_count": 0,
                                                  "mem_size_mib": 128}}),
        ("mem-huge", {**base, "machine-config": {"vcpu_count": 1,
                                                 "mem_size_mib": 2**40}}),
        ("no-kernel", {"boot-source": {"kernel_image_path": "nope"}}),
        ("mac-bad", {**base, "network-interfaces": [
            {"iface_id": "eth0", "guest_mac": "06:00:zz:10:00:02",
             "host_dev_name": "tap0"}]}),
        ("mtu-small", {**base, "network-interfaces": [
            {"iface_id": "e", "host_dev_name": "t", "mtu": 10}]}),
        ("dup-drives", {**base, "drives": [
            {"drive_id": "a", "path_on_host": "/dev/null",
             "is_root_device": False, "is_read_only": True}] * 2}),
        ("serial-file", {**base, "vmrun": {"serial": {"output": "file"}}}),
        ("console-pty", {**base, "vmrun": {"virtio-console": {
            "output": "pty"}}}),
        ("unsupported", {**base, "vsock": {"guest_cid": 3}}),
        ("entropy-rl", {**base, "entropy": {"rate_limiter": None}}),
        ("cache-bad", {**base, "drives": [
            {"drive_id": "a", "path_on_host": "/dev/null",
             "is_root_device": True, "is_read_only": True,
             "cache_type": "Sometimes"}]}),
    ]
    for name, doc in bad:
        put("config", name + ".json", json.dumps(doc))
    put("config", "not-object.json", "[1, 2, 3]")
    put("config", "truncated.json", json.dumps(full)[:200])
    put("config", "newline-in-key.json",
        '{"boot-source": {"kernel_image_path": "/bin/sh"}, "a\\nb": 1}')
    put("config", "deep.json", "[" * 200 + "]" * 200)


# ---- virtq: see fuzz_virtq.c ---------------------------------------------
RAM = 0x10000


def desc(addr, length, flags, nxt):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def ring_image(chains, size, avail_idx=None, indirect_tables=()):
    """RAM image: desc table at 0, avail at 0x400, used at 0x600,
    buffers from 0x800; (chains) is a list of descriptor lists whose
    'next' fields are filled in order.  RAM past the image is zero."""
    ram = bytearray(0x1000)
    heads, i = [], 0
    for chain in chains:
        heads.append(i)
        for k, (addr, ln, fl) in enumerate(chain):
            nxt = i + 1 if k + 1 < len(chain) else 0
            if k + 1 < len(chain):
                fl |= 1
            ram[i * 16:(i + 1) * 16] = desc(addr, ln, fl, nxt)
            i += 1
    for off, table in indirect_tables:
        ram[off:off + len(table)] = table
    n = len(heads) if avail_idx is None else avail_idx
    ram[0x400:0x404] = struct.pack("<HH", 0, n)
    for k, h in enumerate(heads):
        ram[0x404 + 2 * k:0x406 + 2 * k] = struct.pack("<H", h)
    return bytes(ram)


def virtq_input(flags, max_iov, size_sel, raw_size, ops, ram,
                desc=0, avail=0x400, used=0x600):
    hdr = struct.pack("<BBBHIII", flags, max_iov, size_sel, raw_size,
                      desc, avail, used)
    ops = bytes(ops) + bytes(15 - len(ops))
    return hdr + ops + ram


def virtq_seeds():
    B = RAM + 0x800
    blk_req = [(B, 16, 0), (B + 0x200, 512, 2), (B + 0x400, 1, 2)]
    simple = ring_image([blk_req, [(B + 0x300, 64, 0)]], 16)
    put("virtq", "two-chains", virtq_input(3, 63, 4, 0, [7, 1, 2], simple))
    put("virtq", "event-idx-notify",
        virtq_input(1, 8, 4, 0, [0, 4, 1, 2, 3, 4, 2], simple))
    loop = bytearray(simple)
    loop[0:16] = desc(B, 16, 1, 0)  # next points at itself
    put("virtq", "loop", virtq_input(0, 63, 4, 0, [7], bytes(loop)))
    table = b"".join(desc(B + 0x80 * k, 0x40, 2 if k else 0, k + 1)
                     for k in range(4))
    table = table[:-16 * 1] + desc(B + 0x180, 0x40, 2, 0)
    ind = ring_image([[(RAM + 0xc00, len(table), 4)]], 16,
                     indirect_tables=[(0xc00, table)])
    put("virtq", "indirect", virtq_input(2, 63, 4, 0, [7, 1], ind))
    nested = bytearray(ind)
    nested[0xc00 + 12:0xc00 + 14] = struct.pack("<H", 4)
    put("virtq", "indirect-nested",
        virtq_input(2, 63, 4, 0, [7], bytes(nested)))
    put("virtq", "too-many-iov", virtq_input(0, 1, 4, 0, [7], simple))
    put("virtq", "avail-too-far",
        virtq_input(0, 63, 4, 0, [5 | (31 << 3), 7], simple))
    put("virtq", "bad-size", virtq_input(0, 63, 0xff, 3, [7], simple))
    put("virtq", "reset", virtq_input(1, 63, 4, 0, [0, 6, 7, 1], simple))
    edge = ring_image([[(RAM + RAM - 8, 16, 2)]], 16)
    put("virtq", "straddle-end", virtq_input(0, 63, 4, 0, [7], edge))


# ---- blk: see fuzz_blk.c -------------------------------------------------
def blk_input(opts, sectors, features, ops, ram, size_sel=4):
    hdr = struct.pack("<BBQBHIII", opts, sectors, features, size_sel, 0,
                      0, 0x400, 0x600)
    return hdr + bytes(ops) + bytes(12 - len(ops)) + ram


def blk_seeds():
    base = 0x100000
    heap = [0x800]
    ram = bytearray(0x1000)

    def alloc(data_or_len):
        off = heap[0]
        data = (bytes(data_or_len) if isinstance(data_or_len, int)
                else data_or_len)
        ram[off:off + len(data)] = data
        heap[0] = (off + len(data) + 15) & ~15
        return base + off

    def hdr(t, sector):
        return alloc(struct.pack("<IIQ", t, 0, sector))

    reqs = [
        [(hdr(0, 1), 16, 0), (alloc(512), 512, 2), (alloc(1), 1, 2)],
        [(hdr(1, 2), 16, 0), (alloc(b"\xab" * 512), 512, 0),
         (alloc(1), 1, 2)],
        [(hdr(4, 0), 16, 0), (alloc(1), 1, 2)],
        [(hdr(8, 0), 16, 0), (alloc(20), 20, 2), (alloc(1), 1, 2)],
        [(hdr(11, 0), 16, 0), (alloc(struct.pack("<QII", 0, 8, 0)), 16, 0),
         (alloc(1), 1, 2)],
        [(hdr(13, 4), 16, 0), (alloc(struct.pack("<QII", 4, 4, 1)), 16, 0),
         (alloc(1), 1, 2)],
        [(hdr(99, 0), 16, 0), (alloc(1), 1, 2)],
        [(hdr(0, 0), 16, 0)],  # no status byte
        [(hdr(0, 0), 8, 0), (alloc(1), 1, 2)],  # short header
        [(hdr(0, 63), 16, 0), (alloc(1024), 1024, 2), (alloc(1), 1, 2)],
    ]
    img = bytearray(ring_image(reqs, 16))
    img[0x800:] = ram[0x800:]
    img = bytes(img)
    allf = 0xffffffffffffffff
    put("blk", "all-types", blk_input(0, 64, allf, [0], img))
    put("blk", "deferred", blk_input(4 | 2, 64, allf, [6, 1, 0, 1], img))
    put("blk", "read-only", blk_input(1, 8, allf, [0], img))
    put("blk", "reset-in-flight",
        blk_input(4, 64, allf, [0, 3 | 8, 1, 0, 1], img))
    put("blk", "fail-io", blk_input(32 | 8, 64, 0, [0, 4, 5 | 8, 4 | 16],
                                    img))
    put("blk", "one-at-a-time", blk_input(4, 64, allf,
                                          [2 | 2 << 3] + [0, 1] * 5,
                                          bytes(img[:0x400]) +
                                          struct.pack("<HH", 0, 0) +
                                          bytes(img[0x404:])))


# ---- net: see fuzz_net.c -------------------------------------------------
def net_input(opts, features, frames, ops, ram, mtu=1500):
    hdr = struct.pack("<B", opts)
    if opts & 1:
        hdr += struct.pack("<H", mtu - 68)
    hdr += struct.pack("<Q", features)
    for d, a, u in ((0, 0x400, 0x600), (0x800, 0xa00, 0xc00)):
        hdr += struct.pack("<BHIII", 4, 0, d, a, u)
    hdr += struct.pack("<B", len(frames))
    for f in frames:
        hdr += struct.pack("<H", len(f)) + f
    return hdr + bytes(ops) + bytes(12 - len(ops)) + ram


def net_ring(ram, desc_off, avail_off, chains):
    i = 0
    for k, chain in enumerate(chains):
        ram[avail_off + 4 + 2 * k:avail_off + 6 + 2 * k] = struct.pack("<H",
                                                                       i)
        for j, (addr, ln, fl) in enumerate(chain):
            last = j + 1 == len(chain)
            ram[desc_off + 16 * i:desc_off + 16 * i + 16] = desc(
                addr, ln, fl | (0 if last else 1), 0 if last else i + 1)
            i += 1
    ram[avail_off:avail_off + 4] = struct.pack("<HH", 0, len(chains))


def net_seeds():
    base = 0x100000
    ram = bytearray(0x1c00)
    rx = [[(base + 0x1000, 0x300, 2)], [(base + 0x1300, 0x100, 2),
                                         (base + 0x1400, 0x200, 2)]]
    frame = bytes(12) + bytes.fromhex("ffffffffffff0600ac1000020800") + \
        bytes(range(46))
    ram[0x1800:0x1800 + len(frame)] = frame
    gso = bytearray(frame)
    gso[0] = 1      # NEEDS_CSUM
    gso[1] = 1      # GSO_TCPV4
    ram[0x1900:0x1900 + len(gso)] = gso
    tx = [[(base + 0x1800, 12, 0), (base + 0x180c, len(frame) - 12, 0)],
          [(base + 0x1900, len(gso), 0)],
          [(base + 0x1800, 6, 0)],                 # shorter than a header
          [(base + 0x1800, 12, 0), (base + 0x1a00, 16, 2)]]  # writable part
    net_ring(ram, 0, 0x400, rx)
    net_ring(ram, 0x800, 0xa00, tx)
    ram = bytes(ram)
    allf = 0xffffffffffffffff
    nomrg = allf & ~(1 << 15)
    put("net", "rx-tx", net_input(1, allf, [frame, frame[:40]],
                                  [0, 2, 2 | 8, 1, 3], ram))
    put("net", "no-mrg", net_input(0, nomrg, [frame], [2, 0, 1, 3], ram))
    put("net", "basic", net_input(0, 0, [frame], [2, 0, 1], ram))
    put("net", "oversized", net_input(0, allf, [b""], [0, 2, 2], ram))
    put("net", "reset-mid-rx", net_input(1, allf, [frame, frame],
                                         [2, 0, 4 | 8, 2 | 8, 0, 1], ram))
    put("net", "small-mtu", net_input(1, nomrg, [frame], [0, 2, 1], ram,
                                      mtu=68))


# ---- bootimg: kernel files -----------------------------------------------
def bzimage(version=0x020f, sects=4, kernel=4096, xlf=1, loadflags=1):
    img = bytearray((sects + 1) * 512 + kernel)
    img[0x1f1] = sects
    img[0x1fe:0x200] = b"\x55\xaa"
    img[0x200:0x202] = b"\xeb\x66"
    img[0x202:0x206] = b"HdrS"
    img[0x206:0x208] = struct.pack("<H", version)
    img[0x211] = loadflags
    img[0x230:0x234] = struct.pack("<I", 0x200000)
    img[0x234] = 1
    img[0x236:0x238] = struct.pack("<H", xlf)
    img[0x238:0x23c] = struct.pack("<I", 2047)
    img[0x258:0x260] = struct.pack("<Q", 0x1000000)
    img[0x260:0x264] = struct.pack("<I", 0x800000)
    return bytes(img)


def elf(segments, notes=b""):
    phnum = len(segments) + (1 if notes else 0)
    data_off = 64 + 56 * phnum
    eh = bytearray(64)
    eh[0:16] = b"\x7fELF\x02\x01\x01" + bytes(9)
    eh[16:64] = struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, 0x1000000, 64, 0,
                            0, 64, 56, phnum, 64, 0, 0)
    ph, body = b"", b""
    for paddr, filesz, memsz in segments:
        ph += struct.pack("<IIQQQQQQ", 1, 5, data_off + len(body), paddr,
                          paddr, filesz, memsz, 0x1000)
        body += bytes(filesz)
    if notes:
        ph += struct.pack("<IIQQQQQQ", 4, 4, data_off + len(body), 0, 0,
                          len(notes), len(notes), 4)
        body += notes
    return bytes(eh) + ph + body


def bootimg_seeds():
    put("bootimg", "bzimage", bzimage())
    put("bootimg", "bzimage-old", bzimage(version=0x020a))
    put("bootimg", "bzimage-32bit", bzimage(xlf=0))
    put("bootimg", "bzimage-truncated", bzimage()[:0x900])
    put("bootimg", "bzimage-sects0", bzimage(sects=0))
    pvh = struct.pack("<III", 4, 8, 18) + b"Xen\0" + struct.pack("<Q",
                                                                0x1000200)
    put("bootimg", "elf-pvh", elf([(0x1000000, 256, 4096)], pvh))
    put("bootimg", "elf-plain", elf([(0x1000000, 128, 128),
                                     (0x2000000, 64, 8192)]))
    put("bootimg", "elf-filesz-gt-memsz", elf([(0x1000000, 256, 16)]))
    put("bootimg", "elf-wrap", elf([(2**64 - 4096, 16, 8192)]))
    put("bootimg", "elf-note-huge", elf([(0x1000000, 16, 16)],
                                        struct.pack("<III", 0xffffffff, 8,
                                                    18) + bytes(16)))


# ---- rng: see fuzz_rng.c -------------------------------------------------
def rng_input(opts, features, ops, ram, q=(0, 0x400, 0x600), size_sel=4):
    hdr = struct.pack("<BQ", opts, features)
    hdr += struct.pack("<BHIII", size_sel, 0, *q)
    return hdr + bytes(ops) + bytes(16 - len(ops)) + ram


def rng_seeds():
    base = 0x100000
    ram = bytearray(0x2000)
    chains = [[(base + 0x1000, 64, 2)],
              [(base + 0x1100, 16, 0), (base + 0x1200, 0x100, 2)],
              [(base + 0x1400, 0x1000, 2)],
              [(base + 0x1800, 8, 2), (base + 0x1900, 8, 2)]]
    net_ring(ram, 0, 0x400, chains)
    ram = bytes(ram)
    put("rng", "basic", rng_input(0, 0, [0], ram))
    put("rng", "refill", rng_input(0, 0, [0, 2 | 4 << 3, 0, 2 | 8 << 3, 0],
                                   ram))
    put("rng", "reset-restart", rng_input(0, 0, [0, 3 | 8, 2 | 4 << 3, 0],
                                          ram))
    put("rng", "config-and-bad-queue", rng_input(0, 0, [5, 5 | 3 << 3, 4,
                                                        4 | 31 << 3, 0], ram))
    put("rng", "raw-features", rng_input(1, 1 << 28 | 1 << 29, [0, 6], ram))
    # A descriptor pointing at itself, an indirect table of 0 length.
    loop = bytearray(ram)
    loop[0:16] = desc(base + 0x1000, 16, 3, 0)
    put("rng", "desc-loop", rng_input(0, 0, [0, 3 | 8, 0], bytes(loop)))
    ind = bytearray(ram)
    ind[0:16] = desc(base + 0x1800, 32, 4, 0)
    ind[0x1800:0x1820] = desc(base + 0x1800, 32, 4, 0) + \
        desc(base + 0x1000, 8, 2, 0)
    put("rng", "indirect-nested", rng_input(1, 1 << 32 | 1 << 28, [0],
                                            bytes(ind)))


# ---- console: see fuzz_console.c -----------------------------------------
def console_input(opts, features, text, ops, ram):
    hdr = struct.pack("<BQ", opts, features)
    for d, a, u in ((0, 0x400, 0x600), (0x800, 0xa00, 0xc00)):
        hdr += struct.pack("<BHIII", 4, 0, d, a, u)
    hdr += struct.pack("<H", len(text)) + text
    return hdr + bytes(ops) + bytes(16 - len(ops)) + ram


def console_seeds():
    base = 0x100000
    ram = bytearray(0x2000)
    rx = [[(base + 0x1000, 0x100, 2)], [(base + 0x1100, 8, 2),
                                        (base + 0x1200, 0x100, 2)]]
    tx = [[(base + 0x1800, 14, 0)], [(base + 0x1800, 5, 0),
                                     (base + 0x1805, 9, 0)],
          [(base + 0x1800, 4, 0), (base + 0x1a00, 16, 2)]]
    ram[0x1800:0x180e] = b"hello, world\r\n"[:14]
    net_ring(ram, 0, 0x400, rx)
    net_ring(ram, 0x800, 0xa00, tx)
    ram = bytes(ram)
    text = b"typed input\n" * 20
    both = 1 | 2
    put("console", "echo", console_input(both, 0, text,
                                         [0, 2 | 2 << 3, 1, 3], ram))
    put("console", "emerg", console_input(both, 1 << 2, b"",
                                          [6, 6 | 7 << 3, 1, 6], ram))
    put("console", "epipe", console_input(1 | 2 | 4, 0, text,
                                           [1, 6, 2, 0], ram))
    put("console", "stall", console_input(both | 8, 0, text,
                                          [1, 1, 1, 6, 3, 6], ram))
    put("console", "reset-mid-input", console_input(
        both, 0, text * 4, [2 | 31 << 3, 0, 4 | 8, 2, 0, 4, 7, 0], ram))
    put("console", "no-backend", console_input(0, 0, b"", [0, 1, 6], ram))
    put("console", "config", console_input(both, 0, b"",
                                           [5 | 16 << 3, 5 | 17 << 3,
                                            5 | 19 << 3, 5 | 30 << 3], ram))


# ---- api: see fuzz_api.c -------------------------------------------------
API_METHODS = ["GET", "PUT", "PATCH", "DELETE", "POST", "HEAD", "put", "",
               "OPTIONS"]
API_PATHS = ["/", "/version", "/vm/config", "/machine-config",
             "/boot-source", "/drives/", "/network-interfaces/", "/entropy",
             "/serial", "/actions", "/vm", "/logger", "/metrics", "/balloon",
             "/balloon/statistics", "/vsock", "/mmds", "/snapshot/create",
             "/cpu-config", "/drives", "", "/drives//x", "//", "/vm/"]


def api_req(method, path, body=b"", suffix=b""):
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    m = API_METHODS.index(method)
    sel = API_PATHS.index(path) | (0x80 if suffix else 0)
    return struct.pack("<BBB", m, sel, len(suffix)) + suffix + \
        struct.pack("<H", len(body)) + body


def api_seeds():
    boot = api_req("PUT", "/boot-source", {"kernel_image_path": "/bin/sh",
                                           "boot_args": "console=ttyS0"})
    start = api_req("PUT", "/actions", {"action_type": "InstanceStart"})
    mc = api_req("PUT", "/machine-config", {"vcpu_count": 2,
                                            "mem_size_mib": 256,
                                            "smt": False})
    drive = api_req("PUT", "/drives/", {"drive_id": "rootfs",
                                        "path_on_host": "/dev/null",
                                        "is_root_device": True,
                                        "is_read_only": True}, b"rootfs")
    net = api_req("PUT", "/network-interfaces/",
                  {"iface_id": "eth0", "host_dev_name": "tap0",
                   "guest_mac": "06:00:AC:10:00:02"}, b"eth0")
    put("api", "boot-flow", b"\0" + mc + boot + drive + net +
        api_req("PUT", "/entropy", {}) +
        api_req("PUT", "/serial", {"serial_out_path": "/tmp/s.log"}) +
        api_req("GET", "/vm/config") + start +
        api_req("PATCH", "/vm", {"state": "Paused"}) +
        api_req("PATCH", "/vm", {"state": "Resumed"}) +
        api_req("PUT", "/actions", {"action_type": "SendCtrlAltDel"}) +
        api_req("PUT", "/machine-config", {"vcpu_count": 1}) +
        api_req("GET", "/"))
    put("api", "start-fails", b"\1" + boot + start + start)
    put("api", "patch-mc", b"\0" + api_req("PATCH", "/machine-config",
                                           {"vcpu_count": 4}) +
        api_req("PATCH", "/machine-config", {"mem_size_mib": "x"}) +
        api_req("GET", "/machine-config"))
    put("api", "bad-bodies", b"\0" + api_req("PUT", "/entropy", "[1]") +
        api_req("PUT", "/entropy", "{") + api_req("PUT", "/entropy", "") +
        api_req("PUT", "/entropy", '{"a":1,"a":2}') +
        api_req("PUT", "/actions", '{"action_type": 5}') +
        api_req("PUT", "/drives/", {"drive_id": "b"}, b"a") +
        api_req("PUT", "/serial", {"serial_out_path": 1}))
    put("api", "unsupported", b"\0" + api_req("GET", "/balloon") +
        api_req("PUT", "/logger", {}) + api_req("DELETE", "/vm") +
        api_req("POST", "/actions", {}) + api_req("GET", "/drives//x") +
        api_req("PATCH", "/drives/", {}, b"rootfs"))
    put("api", "booted", b"\xc0" + api_req("GET", "/vm/config") + mc +
        api_req("PATCH", "/vm", {"state": "Paused"}) + start)
    put("api", "newline-path", b"\0" + api_req("PUT", "/entropy", {},
                                               b"\napi: forged"))


# ---- snapshot: see fuzz_snapshot.c ----------------------------------------
# Two option bytes (the operator's entries, one bit each of fuzz_snapshot.c's
# OPS; names, no fix-up, dirty tracking), then a state file written by
# tests/tools/snapfile.py.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tools"))
import snapfile  # noqa: E402

OP_ROOTFS, OP_DATA, OP_D0, OP_ETH0, OP_ETH1 = 1, 2, 4, 8, 16
OP_SERIAL, OP_VCON, OP_E = 32, 64, 128
OPS_ALL = OP_ROOTFS | OP_DATA | OP_ETH0 | OP_ETH1 | OP_SERIAL | OP_VCON


def snapshot_input(ops, opts, cfg):
    return bytes([ops, opts]) + snapfile.state_file(cfg, "FuzzCPU")


def snapshot_seeds():
    vm = {"vcpu_count": 2, "mem_size_mib": 128, "entropy": 1,
          "drives": [{"drive_id": "rootfs", "path_on_host": "/etc/shadow",
                      "partuuid": "0eaa91a0-01", "cache_type": 1,
                      "io_engine": 1},
                     {"drive_id": "data", "path_on_host": "/srv/data.img",
                      "is_root_device": 0, "is_read_only": 1}],
          "network-interfaces": [{"iface_id": "eth0", "host_dev_name": "tap0",
                                  "mtu": 1500},
                                 {"iface_id": "eth1", "host_dev_name": "tap1",
                                  "guest_mac": None}],
          "serial": {"output": "file", "path": "/var/log/vm.serial"},
          "virtio-console": {"output": "file", "path": "/tmp/vm.console"},
          "virtio_mmio_cmdline": 1}
    put("snapshot", "restore-all", snapshot_input(OPS_ALL, 0, vm))
    put("snapshot", "restore-api-dirty", snapshot_input(OPS_ALL, 1 | 8, vm))
    put("snapshot", "no-entries", snapshot_input(0, 0, vm))
    put("snapshot", "no-console", snapshot_input(
        OPS_ALL & ~OP_VCON, 0, vm))
    put("snapshot", "bad-drive-entry", snapshot_input(OPS_ALL | OP_D0, 0, dict(
        vm, drives=vm["drives"] + [{"drive_id": "d0", "is_root_device": 0}])))
    put("snapshot", "tap-clash", snapshot_input(OPS_ALL & ~OP_ETH1 | OP_E, 0, dict(
        vm, **{"network-interfaces": [{"iface_id": "eth0"},
                                      {"iface_id": "e", "host_dev_name": "t",
                                       "guest_mac": None}]})))
    put("snapshot", "stdio", snapshot_input(OP_ROOTFS, 0, {
        "drives": [{"drive_id": "rootfs"}]}))
    put("snapshot", "raw", snapshot_input(OPS_ALL, 2, vm))
    hostile = [
        ("tap-slash", {"network-interfaces": [{"host_dev_name": "a/b"}]}),
        ("tap-colon", {"network-interfaces": [{"host_dev_name": "eth0:1"}]}),
        ("drive-id-newline", {"drives": [{"drive_id": "root\nfs"}]}),
        ("drive-id-equals", {"drives": [{"drive_id": "a=b"}]}),
        ("mac-multicast", {"network-interfaces": [
            {"guest_mac": "01:00:5e:00:00:01"}]}),
        ("serial-pty", {"serial": {"output": "pty"}}),
        ("serial-file-no-path", {"serial": {"output": "file"}}),
        ("vcon-output-9", {"virtio-console": {"output": 9}}),
        ("relative-path", {"drives": [{"path_on_host": "disk.img"}]}),
        ("cache-2", {"drives": [{"cache_type": 2}]}),
    ]
    for name, change in hostile:
        put("snapshot", name, snapshot_input(OPS_ALL, 0, dict(vm, **change)))


if __name__ == "__main__":
    which = sys.argv[1:] or ["config", "virtq", "bootimg", "blk", "net",
                             "console", "rng", "api", "snapshot"]
    for t in which:
        fn = globals().get(t + "_seeds")
        if fn:
            fn()
