#!/usr/bin/env python3
"""bench/run_mode.py -- `regcred run` against one-shot `regcred refresh`, and
one-shot refreshes for 1, 10 and 100 namespaces.

    python3 bench/run_mode.py [--regcred out/regcred] [--refreshes 1000]
                              [--out bench/run-mode.md]

Against the stand-ins of tests/integration (STS issuing tokens that live
2 s, so that `run` refreshes about once a second; the Kubernetes stand-in
with watches), no impersonation. Measured:

 - one-shot: N `regcred refresh` through bench/measure.py (wall, CPU of the
   process from wait4, peak RSS);
 - run: one `regcred run` process for --refreshes refreshes; CPU per
   refresh from /proc/PID/stat (utime+stime of the parent plus cutime+cstime
   of every child it reaped) between the 10th refresh and the last; the
   parent's VmHWM after 10 refreshes and at the end (memory is flat when
   they are equal); the largest VmHWM of any refresh child, sampled while
   it lives;
 - namespaces: one `regcred refresh` with 1, 10, 100 namespaces: CPU, wall,
   peak RSS, and what the API stand-in saw (TLS connections, requests).

CPU of the stand-ins (Python) is not counted. Nothing here asserts.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(HERE))

import certs  # noqa: E402
import harness  # noqa: E402
import run as bench  # noqa: E402  (bench/run.py: spawn helper, measure)

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    """utime+stime+cutime+cstime of pid, seconds."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return sum(int(x) for x in rest[11:15]) / TICK


def hwm_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children(pid: int) -> list:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def one_shot(world, regcred: str, n: int, work: Path, namespaces=None) -> list:
    runs = []
    args = world.args(namespace=namespaces or harness.NAMESPACE)
    for i in range(n):
        r = bench.measure([regcred] + [str(a) for a in args], dict(os.environ), work,
                          f"oneshot-{len(namespaces or [1])}-{i}")
        if r["rc"] != 0:
            raise RuntimeError(f"refresh failed: {r['stderr_tail']}")
        runs.append(r)
    return runs


def run_mode(world, regcred: str, total: int) -> dict:
    base = len(world.sts.requests)
    run = world.start(regcred, world.args("run"))
    child_hwm, seen = 0, set()
    marks = {}
    try:
        while len(world.sts.requests) - base < total:
            for c in children(run.p.pid):
                seen.add(c)
                child_hwm = max(child_hwm, hwm_kib(c))
            n = len(world.sts.requests) - base
            if n >= 10 and "cpu10" not in marks:
                marks.update(cpu10=proc_cpu(run.p.pid), hwm10=hwm_kib(run.p.pid), n10=n)
            assert run.p.poll() is None, "\n".join(run.lines()[-20:])
            time.sleep(0.05)
        marks.update(cpu_end=proc_cpu(run.p.pid), hwm_end=hwm_kib(run.p.pid),
                     n_end=len(world.sts.requests) - base)
    finally:
        res = run.stop()
    marks["children"] = len(seen)
    marks["child_hwm"] = child_hwm
    marks["cpu_per_refresh_ms"] = 1000 * (marks["cpu_end"] - marks["cpu10"]) / \
        (marks["n_end"] - marks["n10"])
    marks["rc"] = res.rc
    return marks


def resumption(pki, work: Path, n: int = 50) -> dict:
    """bench/resume.c (regcred's BearSSL build and anchors code) against
    `openssl s_server` with the stand-ins' Google-shaped RSA chain."""
    exe = work / "resume"
    src = [str(REPO / "src" / f) for f in ("anchors.c", "pem.c", "log.c", "err.c", "fmt.c", "json.c")]
    subprocess.run(["musl-gcc", "-std=c11", "-D_DEFAULT_SOURCE", "-O2", "-static", "-iquote",
                    str(REPO / "src"), "-I" + str(REPO / "out" / "gen"),
                    "-I" + str(REPO / ".vendor" / "src" / "bearssl-patched" / "inc"),
                    "-I" + str(REPO / ".vendor" / "src" / "jsmn"), "-o", str(exe),
                    str(HERE / "resume.c")] + src +
                   [str(REPO / "out" / "gen" / "anchors_gen.c"),
                    str(REPO / ".vendor" / "build" / "musl" / "libbearssl.a")], check=True)
    c = pki.rsa
    pems = re.findall(rb"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n",
                      Path(c.chain_file).read_bytes(), re.S)
    (work / "leaf.pem").write_bytes(pems[0])
    (work / "int.pem").write_bytes(b"".join(pems[1:]))
    port = 44300 + os.getpid() % 500
    srv = subprocess.Popen(["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert",
                            str(work / "leaf.pem"), "-cert_chain", str(work / "int.pem"),
                            "-key", c.key_file, "-quiet"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1)
        r = subprocess.run([str(exe), "127.0.0.1", str(port), "localhost", c.root_file, str(n)],
                           capture_output=True, text=True, check=True)
    finally:
        srv.kill()
    return json.loads(r.stdout)


def med(vals):
    return statistics.median(vals)


def report(path: Path, oneshot: list, rm: dict, ns: dict, total: int, res: dict):
    cpu1 = med([r["user_s"] + r["sys_s"] for r in oneshot]) * 1000
    lines = [
        "# `regcred run` against one-shot refreshes",
        "",
        f"Written by `python3 bench/run_mode.py` on {time.strftime('%Y-%m-%d')}"
        f" ({bench.machine()}). Stand-ins of tests/integration (STS tokens living 2 s;"
        " no impersonation); only regcred's processes are measured.",
        "",
        "| | one-shot `refresh` (median of "
        f"{len(oneshot)}) | `run`, per refresh (refreshes 10 to {rm['n_end']}) |",
        "|---|---:|---:|",
        f"| CPU | {cpu1:.1f} ms | {rm['cpu_per_refresh_ms']:.1f} ms |",
        f"| peak RSS | {med([r['maxrss_kib'] for r in oneshot])} KiB | parent "
        f"{rm['hwm_end']} KiB, largest refresh child {rm['child_hwm']} KiB |",
        "",
        f"Memory is flat: the parent's VmHWM was {rm['hwm10']} KiB after {rm['n10']} refreshes"
        f" and {rm['hwm_end']} KiB after {rm['n_end']} ({rm['children']} refresh children"
        " seen). `run`'s refresh is a fork, not an exec: no dynamic start-up, no page faults"
        " for the binary's image.",
        "",
        "## Namespaces (one-shot `refresh`, median of 5)",
        "",
        "| namespaces | CPU | wall | peak RSS | TLS connections to the API | API requests |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for k, v in ns.items():
        lines.append(f"| {k} | {v['cpu_ms']:.1f} ms | {v['wall_ms']:.0f} ms | {v['rss']} KiB |"
                     f" {v['conns']} | {v['reqs']} |")
    lines += ["", "One STS exchange per refresh however many namespaces; the wall time is"
              " mostly the Python stand-in's.",
              "", "## TLS session resumption (measured, not applied)", "",
              f"`bench/resume.c`: regcred's BearSSL build and anchors code, {res['n']} TLS 1.2"
              " handshakes with ECDHE-RSA-AES128-GCM against `openssl s_server` holding the"
              " stand-ins' RSA-2048 leaf and intermediate under the RSA-4096 root, then"
              f" {res['n']} resuming the first session ({res['resumed']} resumed): client CPU"
              f" {res['full_ms']:.2f} ms per full handshake, {res['resumed_ms']:.2f} ms per"
              " resumed one.", "",
              "Where it could apply: only STS and IAM, and only if Google's front ends resume TLS 1.2 session IDs (not verifiable from here);"
              " kube-apiserver is Go, whose TLS server resumes by tickets only, which BearSSL"
              " 0.6 does not have. In `run` each refresh is a new process, so the session"
              " (its master secret) would have to pass through the long-lived parent and stay"
              " there between refreshes: the one process that never locks down would hold,"
              " for half a token's lifetime, the key to every recorded STS and IAM exchange"
              " (tokens in both directions). For at most two resumed handshakes per refresh"
              " (a refresh every 30 minutes with 1-hour tokens) that is not worth it:"
              " regcred does not resume."]
    path.write_text("\n".join(lines) + "\n")


def main(argv) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--regcred", default=str(REPO / "out" / "regcred"))
    ap.add_argument("--refreshes", type=int, default=1000)
    ap.add_argument("--out", default=str(HERE / "run-mode.md"))
    a = ap.parse_args(argv[1:])
    work = Path(tempfile.mkdtemp(prefix="regcred-bench-run-"))
    bench.SPAWN = bench.build_spawn(work)
    pki = certs.make_pki(str(work / "pki"))
    res = resumption(pki, work)     # first: it builds, and fails fast
    ns_res = {}
    for n in (1, 10, 100):
        world = harness.World(pki, work / f"ns{n}")
        names = [f"team-{i:03d}" for i in range(n)]
        world.kube.namespaces |= set(names)
        runs = []
        for _ in range(5):
            c0, r0 = world.kube.connections, len(world.kube.requests)
            r = one_shot(world, a.regcred, 1, work, names)[0]
            runs.append((r, world.kube.connections - c0, len(world.kube.requests) - r0))
        ns_res[n] = {"cpu_ms": med([(r["user_s"] + r["sys_s"]) * 1000 for r, _, _ in runs]),
                     "wall_ms": med([r["wall_s"] * 1000 for r, _, _ in runs]),
                     "rss": med([r["maxrss_kib"] for r, _, _ in runs]),
                     "conns": runs[-1][1], "reqs": runs[-1][2]}
        world.close()
    world = harness.World(pki, work / "run")
    world.sts.expires_in = 2
    world.write_config(impersonate=False)
    oneshot = one_shot(world, a.regcred, 20, work)
    rm = run_mode(world, a.regcred, a.refreshes)
    world.close()
    report(Path(a.out), oneshot, rm, ns_res, a.refreshes, res)
    print(Path(a.out).read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
