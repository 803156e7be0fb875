"""A private network namespace (plus, per command, a private mount
namespace with its own /etc/hosts) for tests that must reach stand-ins by
real service names (sts.googleapis.com, login.microsoftonline.com) or at
the link-local metadata address 169.254.169.254 without any traffic
leaving this test: nothing in it can reach the host's network.

    ns = NetNS()                         # needs root, unshare, nsenter, ip
    ns.add_address("169.254.169.254")    # a local address inside ns only
    with ns.entered():                   # this thread's sockets are made in ns
        imds = entra.IMDS(..., bind="169.254.169.254", port=80)
    prefix = ns.command(hosts={"sts.googleapis.com": "127.0.1.1"})
    subprocess.run(prefix + ["/path/to/regcred", ...])   # runs inside ns
    ns.close()

The namespace lives as long as a `sleep` started by `unshare --net`; a
listening socket created while a thread is inside (setns(2) through ctypes)
stays in the namespace after the thread leaves it. `command()` enters it
with nsenter and bind-mounts a hosts file over /etc/hosts in a private
mount namespace (propagation private: the host's /etc/hosts is untouched).
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

CLONE_NEWNET = 0x40000000
TOOLS = ("unshare", "nsenter", "ip", "mount", "sh")

_libc = ctypes.CDLL(None, use_errno=True)
_setns_lock = threading.Lock()


def available() -> str | None:
    """None if namespaces can be made here, else why not (a skip reason)."""
    if os.geteuid() != 0:
        return "needs root for network and mount namespaces"
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        return f"needs {', '.join(missing)} (util-linux, iproute2)"
    return None


def _setns(fd: int):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setns: {os.strerror(e)}")


class NetNS:
    def __init__(self):
        why = available()
        if why:
            raise RuntimeError(why)
        self._tool = {t: shutil.which(t) for t in TOOLS}
        self._holder = subprocess.Popen([self._tool["unshare"], "--net", "--", "sleep", "infinity"],
                                        stdin=subprocess.DEVNULL)
        own = os.readlink("/proc/self/ns/net")
        self.path = f"/proc/{self._holder.pid}/ns/net"
        deadline = time.monotonic() + 5
        while True:
            try:
                if os.readlink(self.path) != own:
                    break
            except OSError:
                pass
            if self._holder.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("unshare --net did not start")
            time.sleep(0.01)
        self.ip("link", "set", "lo", "up")

    def ip(self, *args):
        subprocess.run([self._tool["nsenter"], f"--net={self.path}", self._tool["ip"], *args],
                       check=True, capture_output=True)

    def add_address(self, addr: str):
        """Make addr a local address (on lo) inside the namespace only."""
        self.ip("addr", "add", f"{addr}/{128 if ':' in addr else 32}", "dev", "lo")

    @contextlib.contextmanager
    def entered(self):
        """Run the body with this thread inside the namespace."""
        with _setns_lock:
            own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            target = os.open(self.path, os.O_RDONLY)
            try:
                _setns(target)
                try:
                    yield self
                finally:
                    _setns(own)
            finally:
                os.close(own)
                os.close(target)

    def command(self, hosts: dict | None = None, hosts_file: str | Path | None = None) -> list:
        """argv prefix that runs a program inside the namespace, with
        /etc/hosts replaced by hosts_file (written from `hosts`, name ->
        address, plus localhost) when given."""
        pre = [self._tool["nsenter"], f"--net={self.path}"]
        if hosts is None:
            return pre
        if hosts_file is None:
            raise ValueError("hosts_file: where to write the namespace's /etc/hosts")
        lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        by_addr: dict = {}
        for name, addr in hosts.items():
            by_addr.setdefault(addr, []).append(name)
        lines += [f"{a}\t{' '.join(n)}" for a, n in by_addr.items()]
        Path(hosts_file).write_text("\n".join(lines) + "\n")
        script = f'{self._tool["mount"]} --bind "{hosts_file}" /etc/hosts && exec "$0" "$@"'
        return pre + [self._tool["unshare"], "--mount", "--propagation", "private",
                      self._tool["sh"], "-c", script]

    def close(self):
        if self._holder.poll() is None:
            self._holder.kill()
        self._holder.wait()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()
