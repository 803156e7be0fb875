#!/usr/bin/env python3
"""bench/measure.py -- run one command and measure its whole process tree.

    python3 bench/measure.py --spawn SPAWN [--interval-ms 2] [--stdout F] [--stderr F] -- argv...

SPAWN is bench/spawn.c compiled static (run.py builds it): it forks and execs
the command and reports wall time and wait4's rusage.

Prints one JSON object:
  wall_s      fork to wait4 return, measured by bench/spawn.c (CLOCK_MONOTONIC)
  user_s, sys_s   from wait4(2): the child plus every descendant it waited
              for (RUSAGE_CHILDREN semantics), i.e. the whole tree here
  maxrss_kib  wait4's ru_maxrss: the peak RSS of the LARGEST single process
              in the tree (exact, kernel-tracked high-water mark)
  tree_peak_kib   the largest SUM of RSS (VmRSS) over all live processes of
              the tree, sampled from /proc every --interval-ms (a sample can
              miss a short spike; shared pages are counted once per process)
  samples, rc
The measuring process runs apart from the stand-ins (no GIL shared with
them); its own start-up happens before the clock starts. ru_maxrss is taken
by the tiny static helper because Linux carries the pre-execve high-water RSS
of a process into ru_maxrss: spawned from Python, regcred would "use" 13 MiB.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import threading


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
    except (OSError, IndexError, ValueError):
        return 0


def children_map() -> dict:
    kids: dict = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", "rb") as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(b")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree_rss(root: int) -> int:
    kids = children_map()
    total, todo = 0, [root]
    while todo:
        p = todo.pop()
        total += rss_kib(p)
        todo.extend(kids.get(p, ()))
    return total


def main(argv) -> int:
    interval, out, err, spawn = 0.002, os.devnull, os.devnull, None
    i = 1
    while argv[i] != "--":
        if argv[i] == "--interval-ms":
            interval = float(argv[i + 1]) / 1000
        elif argv[i] == "--stdout":
            out = argv[i + 1]
        elif argv[i] == "--stderr":
            err = argv[i + 1]
        elif argv[i] == "--spawn":
            spawn = argv[i + 1]
        i += 2
    cmd = argv[i + 1:]
    if not spawn:
        print("measure.py: --spawn path/to/bench-spawn is required", file=sys.stderr)
        return 2
    exe = shutil.which(cmd[0], path=os.environ.get("PATH")) or cmd[0]
    result = out + ".rusage"
    sys.setswitchinterval(0.0002)
    done = threading.Event()
    pid = os.posix_spawn(spawn, [spawn, result, out, err, "--", exe] + cmd[1:], os.environ)

    def waiter():
        os.waitpid(pid, 0)
        done.set()
    th = threading.Thread(target=waiter)
    th.start()
    peak, samples = 0, 0
    while not done.is_set():
        r = tree_rss(pid) - rss_kib(pid)       # the helper itself is not measured
        if not done.is_set():
            peak = max(peak, r)
            samples += 1
        done.wait(interval)
    th.join()
    with open(result) as f:
        wall_ns, user_us, sys_us, maxrss, rc = (int(x) for x in f.read().split())
    res = {"wall_s": wall_ns / 1e9, "user_s": user_us / 1e6, "sys_s": sys_us / 1e6,
           "maxrss_kib": maxrss, "rc": rc, "tree_peak_kib": max(peak, maxrss),
           "samples": samples}
    json.dump(res, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
