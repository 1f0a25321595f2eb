#!/usr/bin/env python3
"""crash-log.py - the guest kernel's last log lines from a vmrun crash dump.

usage: crash-log.py [-n LINES | --all] [--notes] [--idt] DUMP

DUMP is the ELF core file vmrun writes with --crash-dump (docs/crash-dump.md).
The reader needs no vmlinux: a Linux guest keeps its VMCOREINFO text in RAM
(kernel/crash_core.c: "OSRELEASE=...", "SYMBOL(prb)=...", the printk ring
buffer's structure offsets, and on x86-64 NUMBER(phys_base) and
SYMBOL(init_top_pgt)).  The reader takes that text from the dump's
VMCOREINFO note (vmrun copies it there) or finds it in the PT_LOAD segments, translates kernel addresses (the kernel text mapping directly, the
rest through the guest's page tables from init_top_pgt) and walks the printk
ring buffer (kernel/printk/printk_ringbuffer.h; the same walk as the
kernel's Documentation/admin-guide/kdump/gdbmacros.txt "dmesg").

--idt checks the IDT the guest's CPUs load (every gate present, kernel CS,
a handler in the kernel text): after a triple fault it tells an overwritten
IDT from a delivery that failed on an intact one.
--notes prints the dump's notes first: vmrun's own note (why the dump was
written, which vCPUs' registers it has) and each vCPU's RIP and RSP.
Exit status: 0, 1 when no kernel log is found (the guest is not Linux, or
its kernel has no VMCOREINFO), 2 for a file that is not a vmrun dump.
Python 3 standard library only.
"""
import argparse
import mmap
import re
import struct
import sys

START_KERNEL_MAP = 0xFFFFFFFF80000000
PTE_PRESENT = 1
PTE_PSE = 1 << 7
PTE_ADDR = 0x000FFFFFFFFFF000
# struct elf_prstatus of x86-64: pr_pid at 32, pr_reg (user_regs_struct)
# at 112; RIP is register 16, RSP 19.
PRSTATUS_PID, PRSTATUS_REG = 32, 112
REG_RIP, REG_RSP = 16, 19


class DumpError(Exception):
    pass


class Dump:
    """The ELF core: its notes and guest-physical reads from PT_LOADs."""

    def __init__(self, path):
        self.f = open(path, "rb")
        try:
            self.m = mmap.mmap(self.f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as e:
            raise DumpError("empty file") from e
        m = self.m
        if len(m) < 64 or m[:4] != b"\x7fELF" or m[4] != 2 or m[5] != 1:
            raise DumpError("not a 64-bit little-endian ELF file")
        e_type, e_machine = struct.unpack_from("<HH", m, 16)
        e_phoff, = struct.unpack_from("<Q", m, 32)
        e_phentsize, e_phnum = struct.unpack_from("<HH", m, 54)
        if e_type != 4 or e_machine != 62 or e_phentsize != 56:
            raise DumpError("not an x86-64 ELF core file")
        if e_phoff + e_phnum * 56 > len(m):
            raise DumpError("program headers past the end of the file")
        self.loads = []  # (paddr, size, file offset)
        self.notes = []  # (name, type, desc)
        for i in range(e_phnum):
            p_type, _flags, off, _va, pa, filesz = struct.unpack_from(
                "<IIQQQQ", m, e_phoff + i * 56)
            if off + filesz > len(m):
                raise DumpError("segment %d past the end of the file" % i)
            if p_type == 1:
                self.loads.append((pa, filesz, off))
            elif p_type == 4:
                self._read_notes(off, filesz)
        if not self.loads:
            raise DumpError("no PT_LOAD segment")

    def _read_notes(self, off, size):
        end = off + size
        while off + 12 <= end:
            namesz, descsz, ntype = struct.unpack_from("<III", self.m, off)
            name_at = off + 12
            desc_at = name_at + ((namesz + 3) & ~3)
            nxt = desc_at + ((descsz + 3) & ~3)
            if nxt > end:
                raise DumpError("a note runs past its segment")
            name = bytes(self.m[name_at:name_at + namesz]).rstrip(b"\0")
            self.notes.append((name.decode("ascii", "replace"), ntype,
                               bytes(self.m[desc_at:desc_at + descsz])))
            off = nxt

    def phys(self, pa, n):
        """n bytes of guest RAM at guest-physical pa (one segment)."""
        for base, size, off in self.loads:
            if base <= pa and pa + n <= base + size:
                return self.m[off + pa - base:off + pa - base + n]
        raise DumpError("guest-physical 0x%x (+%d) is not in the dump" %
                        (pa, n))

    def find_vmcoreinfo(self):
        """The VMCOREINFO text as a dict, or None: vmrun's copy in a note,
        else the first one found in guest RAM."""
        for name, _type, desc in self.notes:
            if name == "VMCOREINFO":
                info = parse_vmcoreinfo(desc)
                if "SYMBOL(prb)" in info and "NUMBER(phys_base)" in info:
                    return info
        for _base, size, off in self.loads:
            at = off
            while True:
                at = self.m.find(b"OSRELEASE=", at, off + size)
                if at < 0:
                    break
                stop = self.m.find(b"\0", at, min(at + 16384, off + size))
                text = bytes(self.m[at:stop if stop > 0 else at + 4096])
                info = parse_vmcoreinfo(text)
                if "SYMBOL(prb)" in info and "NUMBER(phys_base)" in info:
                    return info
                at += 10
        return None


def parse_vmcoreinfo(text):
    info = {}
    for line in text.decode("ascii", "replace").splitlines():
        key, eq, val = line.partition("=")
        if eq and re.fullmatch(r"[A-Za-z_()0-9.]+", key):
            info[key] = val
    return info


class Kernel:
    """Kernel virtual memory of the guest, through its VMCOREINFO."""

    def __init__(self, dump, info):
        self.d, self.info = dump, info
        self.phys_base = int(info["NUMBER(phys_base)"])
        self.levels = 5 if info.get("NUMBER(pgtable_l5_enabled)") == "1" else 4
        pgt = self.sym("init_top_pgt")
        self.pgd = pgt - START_KERNEL_MAP + self.phys_base

    def sym(self, name):
        return int(self.info["SYMBOL(%s)" % name], 16)

    def num(self, kind, name):
        return int(self.info["%s(%s)" % (kind, name)])

    def off(self, name):
        return self.num("OFFSET", name)

    def v2p(self, va):
        if va >= START_KERNEL_MAP:
            return va - START_KERNEL_MAP + self.phys_base
        table = self.pgd
        for level in range(self.levels, 0, -1):
            shift = 12 + 9 * (level - 1)
            idx = (va >> shift) & 0x1FF
            entry, = struct.unpack("<Q", self.d.phys(table + idx * 8, 8))
            if not entry & PTE_PRESENT:
                raise DumpError("kernel address 0x%x is not mapped" % va)
            if level in (2, 3) and entry & PTE_PSE:
                return (entry & PTE_ADDR & ~((1 << shift) - 1)) | (
                    va & ((1 << shift) - 1))
            table = entry & PTE_ADDR
        return table | (va & 0xFFF)

    def read(self, va, n):
        """n bytes at kernel address va, page by page."""
        out = bytearray()
        while n > 0:
            chunk = min(n, 4096 - (va & 0xFFF))
            out += self.d.phys(self.v2p(va), chunk)
            va += chunk
            n -= chunk
        return bytes(out)

    def u64(self, va):
        return struct.unpack("<Q", self.read(va, 8))[0]

    def u32(self, va):
        return struct.unpack("<I", self.read(va, 4))[0]

    def u16(self, va):
        return struct.unpack("<H", self.read(va, 2))[0]


def printk_records(k):
    """(seq, ts_nsec, text) of every finalized record, oldest first."""
    atomic = k.off("atomic_long_t.counter")
    rb = k.u64(k.sym("prb"))
    desc_ring = rb + k.off("printk_ringbuffer.desc_ring")
    data_ring = rb + k.off("printk_ringbuffer.text_data_ring")
    count_bits = k.u32(desc_ring + k.off("prb_desc_ring.count_bits"))
    descs = k.u64(desc_ring + k.off("prb_desc_ring.descs"))
    infos = k.u64(desc_ring + k.off("prb_desc_ring.infos"))
    head = k.u64(desc_ring + k.off("prb_desc_ring.head_id") + atomic)
    tail = k.u64(desc_ring + k.off("prb_desc_ring.tail_id") + atomic)
    size_bits = k.u32(data_ring + k.off("prb_data_ring.size_bits"))
    data = k.u64(data_ring + k.off("prb_data_ring.data"))
    if count_bits > 24 or size_bits > 32:
        raise DumpError("printk ring buffer sizes look wrong")
    desc_size, info_size = k.num("SIZE", "prb_desc"), k.num("SIZE",
                                                            "printk_info")
    count, data_size = 1 << count_bits, 1 << size_bits
    flags_shift = 62  # desc state in the top two bits of state_var
    id_mask = (1 << flags_shift) - 1
    committed, finalized = 1, 2
    records = []
    rid = tail
    for _ in range(count + 1):
        idx = rid % count
        desc = descs + idx * desc_size
        state_var = k.u64(desc + k.off("prb_desc.state_var") + atomic)
        state = (state_var >> flags_shift) & 3
        if state in (committed, finalized) and state_var & id_mask == rid:
            lpos = desc + k.off("prb_desc.text_blk_lpos")
            begin = k.u64(lpos + k.off("prb_data_blk_lpos.begin"))
            nxt = k.u64(lpos + k.off("prb_data_blk_lpos.next"))
            info = infos + idx * info_size
            seq = k.u64(info + k.off("printk_info.seq"))
            ts = k.u64(info + k.off("printk_info.ts_nsec"))
            text_len = k.u16(info + k.off("printk_info.text_len"))
            text = b""
            if not begin & 1:  # data-less records have bit 0 set
                b, e = begin % data_size, nxt % data_size
                if b > e:  # the block wrapped: its data is at the start
                    b = 0
                b += 8  # the block's descriptor id
                n = min(text_len, max(e - b, 0))
                text = k.read(data + b, n) if n else b""
            records.append((seq, ts, text.decode("utf-8", "replace")))
        if rid == head:
            break
        rid = (rid + 1) & id_mask
    return records


# The IDT the CPUs load: the read-only alias of idt_table at the start of the
# CPU entry area (arch/x86/include/asm/pgtable_areas.h, CPU_ENTRY_AREA_RO_IDT;
# the same address with 4- and 5-level paging).
CPU_ENTRY_AREA_RO_IDT = 0xFFFFFE0000000000
KERNEL_CS = 0x10
TEXT_SPAN = 64 << 20


def idt_report(k):
    """Lines describing the guest's IDT: whether every gate is one a Linux
    kernel writes (present, kernel CS, interrupt or trap gate, a handler in
    the kernel text), and each gate that is not."""
    raw = k.read(CPU_ENTRY_AREA_RO_IDT, 256 * 16)
    stext = k.sym("_stext")
    bad = []
    for v in range(256):
        lo, mid, hi = struct.unpack_from("<QII", raw, v * 16)
        off = (lo & 0xFFFF) | ((lo >> 32) & 0xFFFF0000) | (mid << 32)
        sel, ist, typ, present = ((lo >> 16) & 0xFFFF, (lo >> 32) & 7,
                                  (lo >> 40) & 0xF, (lo >> 47) & 1)
        if not present:
            continue  # Linux leaves unused vectors not present
        if sel != KERNEL_CS or typ not in (0xE, 0xF) or \
                not stext <= off < stext + TEXT_SPAN:
            bad.append("idt: vector 0x%02x: selector 0x%x type 0x%x ist %d "
                       "handler 0x%016x" % (v, sel, typ, ist, off))
    present = sum((struct.unpack_from("<Q", raw, v * 16)[0] >> 47) & 1
                  for v in range(256))
    head = "idt: %d of 256 gates present, %d unlike a Linux kernel's" % (
        present, len(bad))
    return [head] + bad


def print_notes(dump):
    for name, ntype, desc in dump.notes:
        if name == "VMRUN":
            for line in desc.rstrip(b"\0").decode("utf-8", "replace").splitlines():
                print("note VMRUN: " + line)
        elif name == "CORE" and ntype == 1 and len(desc) >= 336:
            pid, = struct.unpack_from("<i", desc, PRSTATUS_PID)
            regs = struct.unpack_from("<27Q", desc, PRSTATUS_REG)
            print("note CORE: vcpu%d rip=%016x rsp=%016x" %
                  (pid - 1, regs[REG_RIP], regs[REG_RSP]))
        elif name == "VMCOREINFO":
            rel = parse_vmcoreinfo(desc).get("OSRELEASE", "?")
            print("note VMCOREINFO: OSRELEASE=%s (%d bytes)" % (rel, len(desc)))
        else:
            print("note %s: type %d, %d bytes" % (name, ntype, len(desc)))


def main():
    ap = argparse.ArgumentParser(
        description="Print the guest kernel's last log lines from a vmrun "
        "crash dump (docs/crash-dump.md).")
    ap.add_argument("dump")
    ap.add_argument("-n", "--lines", type=int, default=30,
                    help="how many of the last records (default 30)")
    ap.add_argument("--all", action="store_true", help="every record")
    ap.add_argument("--notes", action="store_true",
                    help="print the dump's notes first")
    ap.add_argument("--idt", action="store_true",
                    help="check the guest kernel's IDT gates too")
    a = ap.parse_args()
    try:
        dump = Dump(a.dump)
    except (OSError, DumpError) as e:
        print("crash-log: %s: %s" % (a.dump, e), file=sys.stderr)
        return 2
    if a.notes:
        print_notes(dump)
    info = dump.find_vmcoreinfo()
    if info is None:
        print("crash-log: %s: no VMCOREINFO in guest RAM (not a Linux guest, "
              "or a kernel without CONFIG_CRASH_CORE)" % a.dump,
              file=sys.stderr)
        return 1
    try:
        k = Kernel(dump, info)
        records = printk_records(k)
    except (KeyError, ValueError, struct.error, DumpError) as e:
        print("crash-log: %s: cannot read the kernel log: %s" % (a.dump, e),
              file=sys.stderr)
        return 1
    print("# kernel %s, phys_base=0x%x kaslr=0x%s, %d records in the log" %
          (info.get("OSRELEASE", "?"), k.phys_base & (2**64 - 1),
           info.get("KERNELOFFSET", "0"), len(records)))
    if a.idt:
        try:
            for line in idt_report(k):
                print("# " + line)
        except (KeyError, struct.error, DumpError) as e:
            print("# idt: cannot read it: %s" % e)
    shown = records if a.all else records[-a.lines:] if a.lines > 0 else []
    for _seq, ts, text in shown:
        for line in text.split("\n") or [""]:
            print("[%5d.%06d] %s" % (ts // 10**9, ts % 10**9 // 1000, line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
