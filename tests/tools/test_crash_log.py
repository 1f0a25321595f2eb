#!/usr/bin/env python3
"""test_crash_log.py - crash-log.py against synthetic dumps.

A made-up guest: VMCOREINFO text in RAM (after a decoy "OSRELEASE=%s"), a
printk ring buffer whose structure is reached through the kernel text
mapping, 2 MiB and 4 KiB pages of the direct map, a text data ring that
wrapped, descriptor ids that wrap at 2^62, a reusable descriptor and a
data-less record.  Then hostile files: not ELF, truncated, a segment past
the end, no VMCOREINFO, a ring pointer that is not mapped, absurd sizes.
Each must end with its exit status and one line, never a traceback.
"""
import os
import struct
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
READER = os.path.join(HERE, "crash-log.py")
START = 0xFFFFFFFF80000000
DIRECT = 0xFFFF888000000000
RAM = 4 << 20
PHYS_BASE = 0

# Where things live (guest-physical).
PGD, PUD, PMD, PTE = 0x10000, 0x11000, 0x12000, 0x13000
RB, PRB_PTR = 0x20000, 0x20800
VMCI = 0x30000
INFOS = 0x100000            # direct map, 2 MiB page
DESCS = 0x210000            # direct map, 4 KiB pages
DATA = 0x21F800             # straddles two 4 KiB pages
COUNT_BITS, SIZE_BITS = 3, 12
DESC_SIZE, INFO_SIZE = 24, 88
# The IDT alias of the CPU entry area, mapped by its own tables.
IDT_VA, STEXT = 0xFFFFFE0000000000, 0xFFFFFFFF81000000
IDT_PUD, IDT_PMD, IDT_PT, IDT_PAGE = 0x14000, 0x15000, 0x16000, 0x17000
FINALIZED, REUSABLE = 2, 3
ID_MASK = (1 << 62) - 1

OFFSETS = {
    "printk_ringbuffer.desc_ring": 0,
    "printk_ringbuffer.text_data_ring": 48,
    "prb_desc_ring.count_bits": 0,
    "prb_desc_ring.descs": 8,
    "prb_desc_ring.infos": 16,
    "prb_desc_ring.head_id": 24,
    "prb_desc_ring.tail_id": 32,
    "prb_desc.state_var": 0,
    "prb_desc.text_blk_lpos": 8,
    "prb_data_blk_lpos.begin": 0,
    "prb_data_blk_lpos.next": 8,
    "printk_info.seq": 0,
    "printk_info.ts_nsec": 8,
    "printk_info.text_len": 16,
    "prb_data_ring.size_bits": 0,
    "prb_data_ring.data": 8,
    "atomic_long_t.counter": 0,
}


def vmcoreinfo(prb_sym):
    lines = ["OSRELEASE=6.1.0-test", "PAGESIZE=4096",
             "SYMBOL(prb)=%x" % prb_sym,
             "SYMBOL(init_top_pgt)=%x" % (START + PGD - PHYS_BASE),
             "SIZE(prb_desc)=%d" % DESC_SIZE,
             "SIZE(printk_info)=%d" % INFO_SIZE,
             "NUMBER(phys_base)=%d" % PHYS_BASE,
             "SYMBOL(_stext)=%x" % STEXT,
             "NUMBER(pgtable_l5_enabled)=0", "KERNELOFFSET=0"]
    lines += ["OFFSET(%s)=%d" % kv for kv in OFFSETS.items()]
    return ("\n".join(lines) + "\n").encode()


def put(ram, pa, data):
    ram[pa:pa + len(data)] = data


def q(v):
    return struct.pack("<Q", v & (2**64 - 1))


def build_ram(texts, prb_sym=START + PRB_PTR):
    """Guest RAM holding (texts) as records; returns (ram, expected)."""
    ram = bytearray(RAM)
    # Page tables: direct map 0..2 MiB by one 2 MiB page, 2..4 MiB by 4 KiB
    # pages.
    put(ram, PGD + ((DIRECT >> 39) & 511) * 8, q(PUD | 1))
    put(ram, PUD + ((DIRECT >> 30) & 511) * 8, q(PMD | 1))
    put(ram, PMD, q(0 | 1 | 0x80))
    put(ram, PMD + 8, q(PTE | 1))
    for i in range(512):
        put(ram, PTE + i * 8, q((0x200000 + i * 4096) | 1))
    put(ram, PRB_PTR, q(START + RB))
    ring, data_ring = RB, RB + 48
    count, size = 1 << COUNT_BITS, 1 << SIZE_BITS
    struct.pack_into("<I", ram, ring, COUNT_BITS)
    put(ram, ring + 8, q(DIRECT + DESCS))
    put(ram, ring + 16, q(DIRECT + INFOS))
    struct.pack_into("<I", ram, data_ring, SIZE_BITS)
    put(ram, data_ring + 8, q(DIRECT + DATA))
    # Records: ids start just below 2^62 and wrap; the data ring is
    # written from lpos 0 on, blocks that would wrap go to its start.
    rid, lpos = (1 << 62) - 5, 0
    # The ring keeps the last (count) records: the tail is the oldest.
    first = (rid + max(len(texts) - count, 0)) & ID_MASK
    expected = []
    for n, text in enumerate(texts):
        idx = rid % count
        desc, info = DESCS + idx * DESC_SIZE, INFOS + idx * INFO_SIZE
        state = REUSABLE if text is None else FINALIZED
        if text == "":  # data-less
            begin = nxt = 1
        else:
            body = (text or "x").encode()
            blk = (8 + len(body) + 7) & ~7
            if lpos % size + blk > size:
                begin, at = lpos, 0
                nxt = lpos - lpos % size + size + blk
            else:
                begin, at, nxt = lpos, lpos % size, lpos + blk
            put(ram, DATA + at, q(rid) + body)
            lpos = nxt
        put(ram, desc, q((state << 62) | rid))
        put(ram, desc + 8, q(begin) + q(nxt))
        put(ram, info, q(n) + q(n * 1500000000 + 123456000))
        struct.pack_into("<H", ram, info + 16,
                         len(text.encode()) if text else 0)
        if text is not None:
            expected.append("[%5d.%06d] %s" %
                            ((n * 1500000000 + 123456000) // 10**9,
                             (n * 1500000000 + 123456000) % 10**9 // 1000,
                             text))
        last = rid
        rid = (rid + 1) & ID_MASK
    put(ram, ring + 24, q(last))
    put(ram, ring + 32, q(first))
    put(ram, VMCI - 64, b"OSRELEASE=%s\n\0")  # a decoy, as in .rodata
    put(ram, VMCI, vmcoreinfo(prb_sym) + b"\0")
    return ram, expected


def gate(handler, sel=0x10, typ=0xE, present=1):
    lo = (handler & 0xFFFF) | (sel << 16) | (typ << 40) | (present << 47) | \
        (((handler >> 16) & 0xFFFF) << 48)
    return struct.pack("<QII", lo, handler >> 32, 0)


def map_idt(ram, gates):
    """Maps the IDT alias and writes (gates) there."""
    put(ram, PGD + ((IDT_VA >> 39) & 511) * 8, q(IDT_PUD | 1))
    put(ram, IDT_PUD, q(IDT_PMD | 1))
    put(ram, IDT_PMD, q(IDT_PT | 1))
    put(ram, IDT_PT, q(IDT_PAGE | 1))
    put(ram, IDT_PAGE, b"".join(gates))


def note(name, ntype, desc):
    n = name.encode() + b"\0"
    pad = lambda b: b + b"\0" * (-len(b) % 4)
    return struct.pack("<III", len(n), len(desc), ntype) + pad(n) + pad(desc)


def elf(ram, notes=b"", extra_load=None, machine=62):
    loads = [(0, ram)] + ([extra_load] if extra_load else [])
    phnum = 1 + len(loads)
    off = 64 + 56 * phnum
    out = bytearray(struct.pack(
        "<4sBBBBB7sHHIQQQIHHHHHH", b"\x7fELF", 2, 1, 1, 0, 0, b"", 4,
        machine, 1, 0, 64, 0, 0, 64, 56, phnum, 0, 0, 0))
    phdrs = [struct.pack("<IIQQQQQQ", 4, 0, off, 0, 0, len(notes), 0, 0)]
    data_off = (off + len(notes) + 4095) & ~4095
    for pa, blob in loads:
        phdrs.append(struct.pack("<IIQQQQQQ", 1, 7, data_off, 0, pa,
                                 len(blob), len(blob), 0))
        data_off += (len(blob) + 4095) & ~4095
    out += b"".join(phdrs) + notes
    for _pa, blob in loads:
        out += b"\0" * (-len(out) % 4096) + blob
    return bytes(out)


def prstatus(vcpu, rip, rsp):
    pr = bytearray(336)
    struct.pack_into("<i", pr, 32, vcpu + 1)
    struct.pack_into("<Q", pr, 112 + 16 * 8, rip)
    struct.pack_into("<Q", pr, 112 + 19 * 8, rsp)
    return bytes(pr)


class Reader(unittest.TestCase):
    def run_reader(self, blob, *args):
        with tempfile.NamedTemporaryFile(suffix=".core") as f:
            f.write(blob)
            f.flush()
            p = subprocess.run([sys.executable, READER, *args, f.name],
                               capture_output=True, text=True, timeout=60)
        self.assertNotIn("Traceback", p.stderr)
        return p

    def test_log_records(self):
        texts = ["Linux version 6.1.0-test", "a" * 700, None, "b" * 900,
                 "", "c" * 1200, "sysrq: Trigger a crash",
                 "Kernel panic - not syncing: sysrq triggered crash"]
        ram, expected = build_ram(["old %d" % i + "o" * 600
                                   for i in range(5)] + texts)
        # Only the last 2^COUNT_BITS records are in the ring.
        want = [e for e in expected if not e.split("] ")[1].startswith("old")]
        notes = note("CORE", 1, prstatus(0, 0xffffffff81234567, 0x1000)) + \
            note("VMRUN", 0, b"vmrun crash dump\nreason: test\n\0")
        p = self.run_reader(elf(ram, notes, (1 << 32, b"\1" * 8192)),
                            "--notes", "--all")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.splitlines()
        self.assertIn("note VMRUN: reason: test", out)
        self.assertIn("note CORE: vcpu0 rip=ffffffff81234567 "
                      "rsp=0000000000001000", out)
        head = [i for i, l in enumerate(out) if l.startswith("# kernel")]
        self.assertEqual(len(head), 1)
        self.assertIn("# kernel 6.1.0-test, phys_base=0x0 kaslr=0x0, "
                      "7 records", out[head[0]])
        self.assertEqual(out[head[0] + 1:], want[-7:])
        p = self.run_reader(elf(ram), "-n", "2")
        self.assertEqual(p.stdout.splitlines()[1:], want[-2:])
        # The text from vmrun's VMCOREINFO note; the copy in RAM is gone.
        info = bytes(ram[VMCI:VMCI + 4096]).split(b"\0")[0]
        ram[VMCI:VMCI + len(info)] = bytes(len(info))
        p = self.run_reader(elf(ram, note("VMCOREINFO", 0, info)), "-n", "1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.splitlines()[1:], want[-1:])

    def test_idt(self):
        ram, _ = build_ram(["x"])
        gates = [gate(STEXT + 0x1000 + v * 16) for v in range(256)]
        gates[0x30] = gate(0, present=0)
        map_idt(ram, gates)
        p = self.run_reader(elf(ram), "--idt", "-n", "0")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("# idt: 255 of 256 gates present, 0 unlike a Linux "
                      "kernel's", p.stdout.splitlines())
        # An overwritten gate: wrong selector, a handler outside the text.
        gates[0x22] = gate(0x4141414141414141, sel=0x4141)
        map_idt(ram, gates)
        out = self.run_reader(elf(ram), "--idt", "-n", "0").stdout
        self.assertIn("# idt: 255 of 256 gates present, 1 unlike", out)
        self.assertIn("# idt: vector 0x22: selector 0x4141 type 0xe ist 0 "
                      "handler 0x4141414141414141", out)
        # No IDT mapping: said, and the log is still printed.
        ram, _ = build_ram(["x"])
        p = self.run_reader(elf(ram), "--idt")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("# idt: cannot read it: kernel address "
                      "0xfffffe0000000000 is not mapped", p.stdout)

    def test_not_elf(self):
        p = self.run_reader(b"hello, not a core file" * 10)
        self.assertEqual(p.returncode, 2)
        self.assertIn("not a 64-bit little-endian ELF", p.stderr)

    def test_empty_and_truncated(self):
        ram, _ = build_ram(["x"])
        self.assertEqual(self.run_reader(b"").returncode, 2)
        self.assertEqual(self.run_reader(elf(ram)[:100]).returncode, 2)
        # The PT_LOAD's data cut short: the segment runs past the end.
        p = self.run_reader(elf(ram)[:RAM // 2])
        self.assertEqual(p.returncode, 2)
        self.assertIn("past the end", p.stderr)

    def test_other_machine(self):
        ram, _ = build_ram(["x"])
        p = self.run_reader(elf(ram, machine=183))
        self.assertEqual(p.returncode, 2)

    def test_no_vmcoreinfo(self):
        p = self.run_reader(elf(bytearray(RAM)), "--notes")
        self.assertEqual(p.returncode, 1)
        self.assertIn("no VMCOREINFO", p.stderr)

    def test_ring_not_mapped(self):
        ram, _ = build_ram(["x"], prb_sym=0xFFFFC90000000000)
        p = self.run_reader(elf(ram))
        self.assertEqual(p.returncode, 1)
        self.assertIn("not mapped", p.stderr)

    def test_absurd_sizes(self):
        ram, _ = build_ram(["x"])
        struct.pack_into("<I", ram, RB, 60)  # count_bits
        p = self.run_reader(elf(ram))
        self.assertEqual(p.returncode, 1)
        self.assertIn("sizes look wrong", p.stderr)

    def test_pointer_outside_ram(self):
        ram, _ = build_ram(["x"])
        put(ram, RB + 8, q(START + 0x7FFF0000))  # descs beyond the dump
        p = self.run_reader(elf(ram))
        self.assertEqual(p.returncode, 1)
        self.assertIn("not in the dump", p.stderr)


if __name__ == "__main__":
    unittest.main()
