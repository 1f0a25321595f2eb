#!/usr/bin/env python3
"""snapfile.py - writes vmrun snapshot state files for tests: the container
of src/core/snapshot_file.h (header, section table, CRC-32) around a
configuration section laid out as src/core/snapshot_config.c writes it, and a
memory section.  No vCPU or device state: such a file is refused once a VM
exists, so it reaches everything a restore checks before one does.

As a module: state_file(config, host_cpu) -> bytes.  As a command:

    snapfile.py OUT HOST_CPU JSON

writes OUT from the JSON description of config (the keys of DEFAULT below,
any of them replaced), e.g. '{"drives": [{"drive_id": "rootfs",
"path_on_host": "/etc/shadow"}]}'.  Values are written as given, so a
test can make any of them hostile."""
import json
import struct
import sys
import zlib

MAGIC = b"VMRUNSNP"
HEADER_SIZE = 112
SEC_CONFIG, SEC_MEMORY = 1, 2
CONSOLE_KINDS = {"stdout": 0, "file": 1, "pty": 2, "none": 3}

DEFAULT = {
    "vcpu_count": 1, "mem_size_mib": 16, "smt": 0, "track_dirty_pages": 0,
    "drives": [], "network-interfaces": [], "entropy": 0,
    "serial": {"output": "stdout", "input": 1},
    "virtio-console": None, "virtio_mmio_cmdline": 0,
}
DRIVE = {"drive_id": "rootfs", "path_on_host": "/srv/rootfs.img",
         "is_root_device": 1, "is_read_only": 0, "partuuid": None,
         "cache_type": 0, "io_engine": 0}
NIC = {"iface_id": "eth0", "host_dev_name": "tap0",
       "guest_mac": "06:00:ac:10:00:02", "mtu": 0}


def s(v):
    """sb_put_str(): u32 length (0xffffffff for none), the bytes."""
    if v is None:
        return struct.pack("<I", 0xffffffff)
    b = v.encode("utf-8", "surrogateescape") if isinstance(v, str) else v
    return struct.pack("<I", len(b)) + b


def console(c):
    c = c or {"output": "stdout"}
    kind = c["output"]
    kind = CONSOLE_KINDS[kind] if isinstance(kind, str) else kind
    return struct.pack("<B", kind) + s(c.get("path")) + \
        struct.pack("<B", int(c.get("input", 0)))


def config_section(cfg):
    c = dict(DEFAULT, **cfg)
    out = struct.pack("<IQBB", c["vcpu_count"], c["mem_size_mib"], c["smt"],
                      c["track_dirty_pages"])
    out += struct.pack("<I", len(c["drives"]))
    for d in c["drives"]:
        d = dict(DRIVE, **d)
        out += s(d["drive_id"]) + s(d["path_on_host"])
        out += struct.pack("<BB", d["is_root_device"], d["is_read_only"])
        out += s(d["partuuid"])
        out += struct.pack("<BB", d["cache_type"], d["io_engine"])
    out += struct.pack("<I", len(c["network-interfaces"]))
    for n in c["network-interfaces"]:
        n = dict(NIC, **n)
        mac = n["guest_mac"]
        out += s(n["iface_id"]) + s(n["host_dev_name"])
        out += struct.pack("<B", mac is not None)
        out += bytes.fromhex(mac.replace(":", "")) if mac else bytes(6)
        out += struct.pack("<H", n["mtu"])
    out += struct.pack("<B", c["entropy"]) + console(c["serial"])
    out += struct.pack("<B", c["virtio-console"] is not None)
    out += console(c["virtio-console"])
    out += struct.pack("<B", c["virtio_mmio_cmdline"])
    return out


def container(sections, host_cpu, version="0.1.0", flags=0):
    """sections: [(type, index, bytes)]."""
    data_at = HEADER_SIZE + 24 * len(sections)
    table, data = b"", b""
    for typ, idx, body in sections:
        table += struct.pack("<IIQQ", typ, idx, data_at + len(data), len(body))
        data += body
    total = data_at + len(data) + 4
    head = MAGIC + struct.pack("<IIQII", 1, HEADER_SIZE, total,
                               len(sections), flags)
    head += version.encode()[:16].ljust(16, b"\0")
    head += host_cpu.encode()[:64].ljust(64, b"\0")
    body = head + table + data
    return body + struct.pack("<I", zlib.crc32(body) & 0xffffffff)


def state_file(cfg, host_cpu):
    c = dict(DEFAULT, **cfg)
    mem = struct.pack("<QIB", c["mem_size_mib"] << 20, 4096, 0)
    return container([(SEC_CONFIG, 0, config_section(cfg)),
                      (SEC_MEMORY, 0, mem)], host_cpu)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: snapfile.py OUT HOST_CPU JSON")
    with open(sys.argv[1], "wb") as f:
        f.write(state_file(json.loads(sys.argv[3]), sys.argv[2]))
