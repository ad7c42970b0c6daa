#!/usr/bin/env python3
"""Which pages of a running Diuna's executable are resident, attributed to the crates they hold.

Why: the file-backed part of peak RSS is most of it (docs/PERFORMANCE.md, "The smallest Pi"). This
shows whether that is code the daemon runs or code it never runs that the kernel mapped anyway: a read
fault maps the neighbouring pages already in the page cache too (fault-around, 64 KiB by default), so
code next to code that runs is resident even if it never runs (the TLS stack with TLS off, say).

How: /proc/<pid>/pagemap's "present" bit for every page of the executable's mappings, and the
executable's symbols (`nm -S -C`), each symbol's bytes counted as resident in proportion to its
resident pages. Needs a build with symbols, e.g.
    CARGO_TARGET_DIR=/tmp/prof CARGO_PROFILE_RELEASE_STRIP=none cargo build --release
then run that binary (`DIUNA_FC_BIN=/tmp/prof/release/diuna DIUNA_FC_ONLY=seed cargo bench --bench
frame_cost`) and, while it runs:
    python3 benches/tools/resident_by_crate.py $(pgrep -f /tmp/prof/release/diuna) /tmp/prof/release/diuna
"""
import collections
import re
import struct
import subprocess
import sys

PAGE = 4096


def resident_offsets(pid, binary):
    """File offsets (page aligned) of the executable's resident pages, and KiB per permission."""
    resident, by_perm = set(), collections.Counter()
    with open(f"/proc/{pid}/pagemap", "rb") as pagemap:
        for line in open(f"/proc/{pid}/maps"):
            fields = line.split()
            if len(fields) < 6 or fields[5] != binary:
                continue
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            offset = int(fields[2], 16)
            for va in range(lo, hi, PAGE):
                pagemap.seek(va // PAGE * 8)
                if struct.unpack("<Q", pagemap.read(8))[0] >> 63 & 1:
                    resident.add(offset + va - lo)
                    by_perm[fields[1]] += PAGE // 1024
    return resident, by_perm


def segments(binary):
    """(virtual address, file offset, size in memory) of each LOAD segment."""
    out = subprocess.run(["readelf", "-lW", binary], capture_output=True, text=True, check=True)
    segs = []
    for line in out.stdout.splitlines():
        f = line.split()
        if f and f[0] == "LOAD":
            segs.append((int(f[2], 16), int(f[1], 16), int(f[5], 16)))
    return segs


def crate_of(symbol):
    name = re.sub(r"^[<_&*( ]+", "", symbol.strip())
    crate = re.split(r"::|<| ", name)[0]
    if crate.startswith(("ring_core", "ecp_nistz")):
        return "ring (assembly and tables)"
    return crate


def main():
    pid, binary = sys.argv[1], sys.argv[2]
    resident, by_perm = resident_offsets(pid, binary)
    segs = segments(binary)
    size, res = collections.Counter(), collections.Counter()
    nm = subprocess.run(["nm", "-S", "-C", binary], capture_output=True, text=True, check=True)
    for line in nm.stdout.splitlines():
        f = line.split(None, 3)
        if len(f) < 4 or f[2] not in "tTrR":
            continue
        addr, length = int(f[0], 16), int(f[1], 16)
        offset = next((addr - va + of for va, of, sz in segs if va <= addr < va + sz), None)
        if offset is None or length == 0:
            continue
        crate = crate_of(f[3])
        first, last = offset // PAGE, (offset + length - 1) // PAGE
        hit = sum(1 for page in range(first, last + 1) if page * PAGE in resident)
        size[crate] += length
        res[crate] += length * hit // (last - first + 1)
    print("resident KiB by mapping permission:", dict(by_perm))
    print(f"{'crate':30} {'resident KiB':>12} {'size KiB':>9}")
    for crate, length in size.most_common(30):
        print(f"{crate:30} {res[crate] // 1024:12d} {length // 1024:9d}")
    print(f"all symbols: {sum(size.values()) // 1024} KiB, of which resident {sum(res.values()) // 1024} KiB")


if __name__ == "__main__":
    main()
