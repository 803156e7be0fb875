#!/usr/bin/env python3
"""bench/sizes.py -- where the bytes of out/regcred come from.

Reads the GNU ld map written by build.sh (out/regcred.unstripped.map) and
attributes every input section that was kept in an allocated output section
to a component: regcred's own modules, the generated trust anchors, BearSSL
by subsystem (the directory under bearssl/src: rsa, ec, x509, ssl,
symcipher, hash, int, ...), musl by area (printf, stdio, resolver, malloc,
time, string, ...), startup/libgcc, and what the linker makes itself
(.rela.dyn, .dynamic, .got). The stripped file's size minus the sum of its
sections is ELF headers plus page-alignment padding between segments.

    python3 bench/sizes.py [out/regcred.unstripped.map [out/regcred]] [--json]
    python3 bench/sizes.py --arches [out]   # out/ARCH/regcred side by side
"""
from __future__ import annotations

import json
import os
import re
import sys
from collections import defaultdict

# Output sections that are part of the loaded image (file-backed or bss).
FILE_SECTIONS = {".gnu.hash", ".dynsym", ".dynstr", ".rela.dyn", ".init", ".plt", ".plt.got",
                 ".text", ".fini", ".rodata", ".eh_frame", ".eh_frame_hdr", ".init_array",
                 ".fini_array", ".data.rel.ro", ".dynamic", ".got", ".got.plt", ".data", ".tdata",
                 ".rela.plt", ".note.gnu.property"}
BSS_SECTIONS = {".bss", ".tbss"}
LINKER_MADE = {".rela.dyn", ".dynamic", ".got", ".got.plt", ".gnu.hash", ".dynsym", ".dynstr",
               ".plt", ".plt.got", ".rela.plt"}

# musl objects by area (member name without .lo); anything else is "other".
MUSL_AREAS = {
    "printf": "vfprintf vsnprintf snprintf printf fprintf frexpl __fpclassifyl __signbitl "
              "wctomb wcrtomb",
    "stdio": "fwrite fputs fgets getc __stdio_close __stdio_exit __stdio_read __stdio_seek "
             "__stdio_write __stdout_write __toread __towrite __uflow stderr stdout ofl "
             "__fopen_rb_ca __fclose_ca __lockfile",
    "resolver": "getaddrinfo freeaddrinfo gai_strerror lookup_name lookup_serv lookup_ipliteral "
                "res_mkquery res_msend resolvconf dns_parse dn_expand if_nametoindex inet_aton "
                "inet_pton htons __map_file",
    "malloc": "malloc free calloc lite_malloc replaced madvise mmap munmap mprotect",
    "time": "__tz __secs_to_tm __tm_to_secs __month_to_secs __year_to_secs gmtime_r timegm "
            "strftime time clock_gettime clock_nanosleep nanosleep vdso",
    "string": "memchr memcmp memcpy memmove memset stpcpy stpncpy strcasecmp strchr strchrnul "
              "strcmp strcpy strcspn strlen strncasecmp strncmp strncpy strnlen strstr "
              "explicit_bzero tolower isalnum",
    "locale/strerror": "strerror __lctrans langinfo mbsrtowcs mbstowcs internal",
    "number parsing": "strtol intscan shgetc qsort qsort_nr",
    "syscalls": "bind close connect fstat fstatat getrandom getsockname getsockopt ioctl lseek "
                "open poll read recv recvfrom send sendto setsockopt socket write __syscall_cp "
                "syscall_ret procfdname",
    "startup/exit/threads": "__libc_start_main __init_tls __set_thread_area exit _Exit __environ "
                            "__errno_location __lock libc default_attr defsysinfo "
                            "pthread_cleanup_push pthread_setcancelstate __stack_chk_fail getenv",
}
MUSL_AREA_OF = {m: a for a, ms in MUSL_AREAS.items() for m in ms.split()}

IN_LINE = re.compile(r"^ (\S+)?\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")
OUT_LINE = re.compile(r"^(\.\S+)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+))?")


def component(path: str) -> tuple[str, str]:
    """(group, component) of an input file named in the map."""
    m = re.search(r"libbearssl\.a\(src_([a-z0-9]+)_(.*)\.o\)$", path)
    if m:
        return "BearSSL", m.group(1)
    m = re.search(r"libc\.a\((.*)\.lo\)$", path)
    if m:
        return "musl", MUSL_AREA_OF.get(m.group(1), "other")
    if re.search(r"libgcc\.a|crt\w*\.o$", path):
        return "startup", "crt*.o, libgcc"
    m = re.search(r"/obj/[^/]+/([a-z0-9_]+)\.o$", path)
    if m:
        if m.group(1) == "anchors_gen":
            return "regcred", "trust anchors (generated)"
        return "regcred", m.group(1) + ".c"
    return "other", os.path.basename(path)


def parse(map_path: str):
    sizes = defaultdict(lambda: defaultdict(int))       # (group, comp) -> kind -> bytes
    objects = defaultdict(lambda: defaultdict(int))     # input file -> kind -> bytes
    sections = {}
    out = None
    pending = None
    started = False
    with open(map_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not started:
                started = line.startswith("Linker script and memory map")
                continue
            if line.startswith("."):
                m = OUT_LINE.match(line)
                out = m.group(1)
                if m.group(3):
                    sections[out] = int(m.group(3), 16)
                pending = None
                continue
            if out is None or out in LINKER_MADE or \
                    (out not in FILE_SECTIONS and out not in BSS_SECTIONS):
                continue      # linker-made sections are counted whole below
            m = IN_LINE.match(line)
            if m and (m.group(1) or pending):
                size = int(m.group(3), 16)
                path = m.group(4).strip()
                pending = None
                if size == 0 or path.startswith("load address"):
                    continue
                kind = ("bss" if out in BSS_SECTIONS else
                        "text" if out in (".text", ".init", ".fini") else "data")
                sizes[component(path)][kind] += size
                objects[path][kind] += size
                continue
            m2 = re.match(r"^ (\.\S+)$", line)
            pending = m2.group(1) if m2 else None
    for s in LINKER_MADE:
        if s in sections:
            sizes[("linker", s)]["data"] = sections[s]
    return sizes, objects, sections


def human(n: int) -> str:
    return f"{n / 1024:.1f}"


def report(map_path: str, binary: str | None) -> dict:
    sizes, objects, sections = parse(map_path)
    file_total = os.path.getsize(binary) if binary and os.path.exists(binary) else None
    rows = []
    for (g, c), k in sizes.items():
        rows.append({"group": g, "component": c, "text": k.get("text", 0),
                     "data": k.get("data", 0), "bss": k.get("bss", 0)})
    alloc = sum(r["text"] + r["data"] for r in rows)
    return {"map": map_path, "binary": binary, "file_bytes": file_total,
            "in_sections": alloc, "rows": rows, "sections": sections,
            "top_objects": sorted(((p, v.get("text", 0) + v.get("data", 0)) for p, v in objects.items()),
                                  key=lambda x: -x[1])[:25]}


# BearSSL implementations worth naming per architecture (SECURITY.md's table):
# the object names in the map, src_<dir>_<name>.o.
IMPLS = ("aes_x86ni", "aes_ct64", "aes_big", "aes_small", "ghash_pclmul", "ghash_ctmul64",
         "chacha20_sse2", "chacha20_ct", "poly1305_ctmulq", "ec_all_m31", "ec_c25519_m31",
         "ec_p256_m31", "ec_prime_i31", "rsa_i62_pub", "rsa_i31_pub")


def impls(map_path: str) -> list:
    """Which of IMPLS the binary links (from its linker map)."""
    text = open(map_path).read()
    return [i for i in IMPLS if re.search(rf"libbearssl\.a\(src_[a-z]+_{i}\.o\)", text)]


def arches_markdown(out_dir: str, arches=("amd64", "arm64")) -> str:
    """Size and BearSSL code of out/ARCH/regcred for each architecture built."""
    rows = []
    for a in arches:
        b = os.path.join(out_dir, a, "regcred")
        mp = b + ".unstripped.map"
        if not (os.path.exists(b) and os.path.exists(mp)):
            continue
        r = report(mp, b)
        g = defaultdict(int)
        for x in r["rows"]:
            g[x["group"]] += x["text"] + x["data"]
        lay = os.path.join(out_dir, "image-work", a, "layer.tar.gz")
        rows.append((a, r["file_bytes"], r["in_sections"], g["regcred"], g["BearSSL"], g["musl"],
                     os.path.getsize(lay) if os.path.exists(lay) else None, impls(mp)))
    if not rows:
        return "(no out/ARCH/regcred: run ./build.sh image)"
    out = ["| arch | stripped binary | in sections | headers + padding | regcred KiB | "
           "BearSSL KiB | musl KiB | image layer, gzip |",
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for a, fb, ins, rc, br, mu, lay, _ in rows:
        out.append(f"| {a} | {fb:,} bytes = {fb / 1024:.1f} KiB | {ins:,} | {fb - ins:,} | "
                   f"{rc / 1024:.1f} | {br / 1024:.1f} | {mu / 1024:.1f} | "
                   f"{f'{lay:,} bytes' if lay else '–'} |")
    out.append("")
    out.append("| arch | BearSSL implementations linked (AES, GHASH, ChaCha20/Poly1305, EC, RSA) |")
    out.append("|---|---|")
    for a, *_, im in rows:
        out.append(f"| {a} | {', '.join(f'`{i}`' for i in im)} |")
    return "\n".join(out)


def markdown(r: dict) -> str:
    rows = r["rows"]
    groups = defaultdict(lambda: [0, 0, 0])
    for x in rows:
        g = groups[x["group"]]
        g[0] += x["text"]
        g[1] += x["data"]
        g[2] += x["bss"]
    out = []
    fb = r["file_bytes"]
    out.append(f"Stripped binary: {fb} bytes = {fb / 1024:.1f} KiB" if fb else "")
    out.append(f"In allocated sections: {r['in_sections']} bytes; the rest "
               f"({(fb or 0) - r['in_sections']} bytes) is ELF headers and page-alignment padding "
               "between segments.\n")
    out.append("| group | text KiB | rodata+data KiB | file KiB | bss KiB (not in file) |")
    out.append("|---|---:|---:|---:|---:|")
    for g, (t, d, b) in sorted(groups.items(), key=lambda kv: -(kv[1][0] + kv[1][1])):
        out.append(f"| {g} | {human(t)} | {human(d)} | {human(t + d)} | {human(b)} |")
    out.append("")
    out.append("| group | component | text KiB | rodata+data KiB | file KiB | bss KiB |")
    out.append("|---|---|---:|---:|---:|---:|")
    for x in sorted(rows, key=lambda x: (x["group"], -(x["text"] + x["data"]))):
        if x["text"] + x["data"] + x["bss"] == 0:
            continue
        out.append(f"| {x['group']} | {x['component']} | {human(x['text'])} | {human(x['data'])} | "
                   f"{human(x['text'] + x['data'])} | {human(x['bss'])} |")
    out.append("")
    out.append("Largest input objects (text+data bytes):\n")
    for p, n in r["top_objects"]:
        out.append(f"    {n:7d}  {re.sub(r'^.*/', '', p)}")
    return "\n".join(out)


def main(argv) -> int:
    args = [a for a in argv[1:] if not a.startswith("--")]
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if "--arches" in argv:
        print(arches_markdown(args[0] if args else os.path.join(here, "out")))
        return 0
    mp = args[0] if args else os.path.join(here, "out", "regcred.unstripped.map")
    binary = args[1] if len(args) > 1 else os.path.join(os.path.dirname(mp), "regcred")
    r = report(mp, binary)
    if "--json" in argv:
        json.dump(r, sys.stdout, indent=1)
    else:
        print(markdown(r))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
