"""Real HTTP proxies from Debian for the proxy tests: tinyproxy 1.11 and squid 5.7.

Each proxy runs in the foreground (tinyproxy -d, squid -N) on 127.0.0.1 at a
free port, with a config generated in a private directory, and logs to a file
the tests read. Outgoing connections leave from OUTGOING (127.0.0.2), so a
stand-in can tell a tunnelled connection (peer 127.0.0.2) from a direct one
(peer 127.0.0.1): see record_peers().

    with Tinyproxy(dir) as p:                 # CONNECT to any port allowed
        p.url()                               # http://127.0.0.1:PORT
    Tinyproxy(dir, auth=("alice", "pa.ss"))   # BasicAuth: 407 without them
    Squid(dir, deny_ports=[sts.port])         # http_access deny -> 403
    Squid(dir, auth=("bob", "p@ss:w0rd"))     # basic_ncsa_auth, any password
    Squid(dir, hosts={"sts.googleapis.com": "127.0.0.1"})   # names only squid resolves
    p.connects()                              # ["localhost:41235", ...] CONNECT targets
    p.tunnels()                               # squid only: [(status, target, user)]
    p.kill()                                  # SIGKILL (mid-run failure)

Notes (checked on Debian bookworm):
- tinyproxy as root without `User` warns and keeps running as root; with no
  `ConnectPort` line it allows CONNECT to every port (Debian's packaged
  tinyproxy.conf restricts it to 443 and 563). Its config grammar only takes
  [A-Za-z0-9._-] in a BasicAuth password, so passwords with reserved URL
  characters are tested against squid.
- squid refuses to run as root ("Don't run Squid as root, set
  'cache_effective_user'"): as root it runs as `proxy` (the Debian package's
  user), so its directory lives under /tmp (pytest's root-owned 0700 tmp_path
  cannot be traversed by `proxy`) and is chowned to it.
- squid 5 creates POSIX shared memory segments named after the service name
  (/dev/shm/squid-cf__*.shm) even with one worker: two squids with the same
  name collide (FATAL: shm_open ... File exists), so each gets `-n` of its own
  and the segments are removed after it stops.
- squid writes an access_log line when a tunnel closes, not when it opens:
  connects() polls (wait=) for lines that are still to come.
"""
from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path

LOOPBACK = "127.0.0.1"
OUTGOING = "127.0.0.2"
TINY_AUTH = ("alice", "s3cr3t.pa-ss_w0rd")        # tinyproxy: [A-Za-z0-9._-] only
SQUID_AUTH = ("bob", "p@ss:w0rd/%40 x&y")         # reserved URL characters, a space


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def closed_port() -> int:
    """A loopback port nobody listens on (connect: Connection refused)."""
    return free_port()


def available() -> str | None:
    """None when both proxies can run here, else why not (a skip reason)."""
    for tool in ("tinyproxy", "squid", "openssl"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} not installed (apt-get install tinyproxy squid)"
    return None


def _which(tool: str) -> str:
    return shutil.which(tool) or f"/usr/sbin/{tool}"


class Proxy:
    kind = "proxy"
    live: "weakref.WeakSet" = None      # every Proxy made (for marks before a run)
    log_name = "proxy.log"

    ready_marker = ""            # a log line saying it listens (when prefix hides the port)

    def __init__(self, directory, auth: tuple | None = None, outgoing: str | None = OUTGOING,
                 prefix: list | None = None, host: str = LOOPBACK):
        if Proxy.live is None:
            Proxy.live = weakref.WeakSet()
        Proxy.live.add(self)
        self.prefix = [str(a) for a in (prefix or [])]   # e.g. NetNS.command(): run inside a netns
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.auth = auth
        self.outgoing = outgoing
        self.host = host                 # where it listens: 127.0.0.1, or ::1
        self.proc: subprocess.Popen | None = None
        self.port = 0
        self.log = self.dir / self.log_name
        self.start()

    # -- addressing ---------------------------------------------------------
    @property
    def hostport(self) -> str:
        h = f"[{self.host}]" if ":" in self.host else self.host
        return f"{h}:{self.port}"

    def url(self, user: str | None = None, password: str | None = None,
            encoded: bool = False) -> str:
        """http://[user:password@]127.0.0.1:PORT; user/password default to
        the configured ones; encoded=True: they are already percent-encoded."""
        if user is None and password is None and self.auth:
            user, password = self.auth
        if user is None:
            return f"http://{self.hostport}"
        from urllib.parse import quote
        if not encoded:
            user, password = quote(user, safe=""), quote(password or "", safe="")
        return f"http://{user}:{password}@{self.hostport}"

    # -- lifecycle ----------------------------------------------------------
    def command(self) -> list:
        raise NotImplementedError

    def write_config(self):
        raise NotImplementedError

    def start(self, port: int | None = None, attempts: int = 5):
        """Start (again) on `port` or on a fresh free port; wait until it listens."""
        last = ""
        for _ in range(attempts):
            self.port = port or free_port(self.host)
            self.write_config()
            self._ready_before = self._ready_text().count(self.ready_marker) if self.ready_marker else 0
            out = open(self.dir / f"{self.kind}.stdout", "ab")
            self.proc = subprocess.Popen(self.prefix + self.command(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         cwd=self.dir)
            out.close()
            if self._wait_listening(15):
                return self
            last = self._diagnostics()
            self._reap()
            if port:
                break
        raise RuntimeError(f"{self.kind} did not start listening:\n{last}")

    def _wait_listening(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if self.prefix:          # another network namespace: trust the log
                if self._ready_text().count(self.ready_marker) > self._ready_before:
                    return True
                time.sleep(0.05)
                continue
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def _diagnostics(self) -> str:
        parts = []
        for f in sorted(self.dir.glob("*")):
            if f.is_file() and f.suffix in (".stdout", ".log", ".conf"):
                parts.append(f"--- {f.name} ---\n{f.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def _ready_text(self) -> str:
        return self.log_text()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL the proxy (and its helpers): open tunnels drop at once."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        self._cleanup()

    def _reap(self):
        self.kill()

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=self.stop_grace)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    stop_grace = 3.0

    def _cleanup(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()

    # -- the log --------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def mark(self) -> int:
        """How many CONNECTs the log holds now: connects(since=mark) then
        lists only later ones (a session proxy's log holds earlier tests'
        CONNECTs, and ephemeral ports get reused)."""
        return len(self._parse_connects())

    def connects(self, wait_for: list | tuple = (), timeout: float = 5.0, since: int = 0) -> list:
        """CONNECT targets in the log (from the since-th on), in order; waits
        (up to timeout) until every target in wait_for is there."""
        deadline = time.monotonic() + timeout
        while True:
            got = self._parse_connects()[since:]
            if all(t in got for t in wait_for) or time.monotonic() >= deadline:
                return got
            time.sleep(0.05)

    def count(self, target: str) -> int:
        return self._parse_connects().count(target)

    def _parse_connects(self) -> list:
        raise NotImplementedError


class Tinyproxy(Proxy):
    """tinyproxy 1.11: log lines
    `CONNECT   <date> [pid]: Request (file descriptor N): CONNECT host:port HTTP/1.1`
    (logged before authentication: a 407'd CONNECT is listed too)."""
    kind = "tinyproxy"
    log_name = "tinyproxy.log"
    REQ = re.compile(r"Request \(file descriptor \d+\): CONNECT (\S+) HTTP/1\.[01]")
    USER_OK = re.compile(r"^[A-Za-z0-9._-]+$")

    ready_marker = "Starting main loop. Accepting connections."

    def __init__(self, directory, auth: tuple | None = None, connect_ports=None,
                 outgoing: str | None = OUTGOING, timeout: int = 30, prefix: list | None = None,
                 host: str = LOOPBACK):
        if auth:
            for part in auth:
                if not self.USER_OK.match(part):
                    raise ValueError(f"tinyproxy's config grammar refuses {part!r} "
                                     "(only [A-Za-z0-9._-]); use Squid for other characters")
        self.connect_ports = list(connect_ports or [])
        self.idle_timeout = timeout
        super().__init__(directory, auth, outgoing, prefix, host)

    def write_config(self):
        lines = [f"Port {self.port}", f"Listen {self.host}", f"Timeout {self.idle_timeout}",
                 f'LogFile "{self.log}"', "LogLevel Info",
                 f'PidFile "{self.dir / "tinyproxy.pid"}"', "MaxClients 100",
                 "DisableViaHeader Yes"]
        if os.geteuid() == 0:
            # tinyproxy only changes user when told to; root stays root (a
            # warning in the log). Say it explicitly so the choice is visible.
            lines += ["User root", "Group root"]
        if self.outgoing:
            lines.append(f"Bind {self.outgoing}")
        for p in self.connect_ports:      # none: CONNECT to every port
            lines.append(f"ConnectPort {p}")
        if self.auth:
            lines.append(f"BasicAuth {self.auth[0]} {self.auth[1]}")
        (self.dir / "tinyproxy.conf").write_text("\n".join(lines) + "\n")

    def command(self) -> list:
        return [_which("tinyproxy"), "-d", "-c", str(self.dir / "tinyproxy.conf")]

    def _parse_connects(self) -> list:
        return self.REQ.findall(self.log_text())


class Squid(Proxy):
    """squid 5.7, a minimal config of our own (Debian's denies CONNECT to
    anything but 443): no cache, CONNECT to any port from loopback clients,
    `http_access deny CONNECT` for deny_ports (403 ERR_ACCESS_DENIED),
    optional basic auth through Debian's basic_ncsa_auth helper."""
    kind = "squid"
    log_name = "access.log"
    stop_grace = 0.5          # SIGTERM takes ~3.5 s even with shutdown_lifetime 0
    # squid native access.log: time elapsed client code/status bytes method URL user hier type
    LINE = re.compile(r"^\S+\s+\d+\s+\S+\s+(\S+)/(\d{3})\s+\d+\s+CONNECT\s+(\S+)\s+(\S+)")

    ready_marker = "Accepting HTTP Socket connections"

    def __init__(self, directory, auth: tuple | None = None, deny_ports=(),
                 outgoing: str | None = OUTGOING, prefix: list | None = None,
                 hosts: dict | None = None):
        self.deny_ports = list(deny_ports)
        self.hosts = dict(hosts or {})        # name -> address, squid's own hosts_file
        self.service = "rcpx" + secrets.token_hex(4)
        # our own directory under /tmp: `proxy` must traverse and write it
        self.link = Path(directory)
        real = Path(tempfile.mkdtemp(prefix="regcred-squid-"))
        self.user = None
        if os.geteuid() == 0:
            self.user = "proxy" if _user_exists("proxy") else "nobody"
            pw = pwd.getpwnam(self.user)
            os.chown(real, pw.pw_uid, pw.pw_gid)
        self.link.parent.mkdir(parents=True, exist_ok=True)
        if not self.link.exists():
            self.link.symlink_to(real)
        super().__init__(real, auth, outgoing, prefix)

    def write_config(self):
        d = self.dir
        lines = [
            f"http_port {self.host}:{self.port}",
            f"pid_filename {d / 'squid.pid'}",
            f"cache_log {d / 'cache.log'}",
            f"access_log stdio:{self.log}",
            "cache_store_log none",
            f"coredump_dir {d}",
            "cache deny all",
            "cache_mem 8 MB",
            "pinger_enable off",
            "shutdown_lifetime 0 seconds",
            "forwarded_for delete",
            "via off",
            "connect_timeout 5 seconds",
        ]
        if self.user:
            lines.append(f"cache_effective_user {self.user}")
        if self.hosts:
            hf = d / "hosts"
            hf.write_text("".join(f"{a}\t{n}\n" for n, a in self.hosts.items()))
            lines.append(f"hosts_file {hf}")
        if self.outgoing:
            lines.append(f"tcp_outgoing_address {self.outgoing}")
        lines += ["acl local src 127.0.0.0/8", "acl CONNECT method CONNECT"]
        for p in self.deny_ports:
            lines += [f"acl denied_port_{p} port {p}", f"http_access deny CONNECT denied_port_{p}"]
        if self.auth:
            pwfile = d / "passwd"
            if not pwfile.exists():
                h = subprocess.run(["openssl", "passwd", "-apr1", "-stdin"], input=self.auth[1].encode(),
                                   capture_output=True, check=True).stdout.decode().strip()
                pwfile.write_text(f"{self.auth[0]}:{h}\n")
                if self.user:
                    pw = pwd.getpwnam(self.user)
                    os.chown(pwfile, pw.pw_uid, pw.pw_gid)
            lines += [f"auth_param basic program /usr/lib/squid/basic_ncsa_auth {pwfile}",
                      "auth_param basic children 2 startup=1",
                      "auth_param basic realm regcred-test",
                      "acl authed proxy_auth REQUIRED",
                      "http_access deny !authed"]
        lines += ["http_access allow local", "http_access deny all"]
        (d / "squid.conf").write_text("\n".join(lines) + "\n")

    def command(self) -> list:
        return [_which("squid"), "-N", "-n", self.service, "-f", str(self.dir / "squid.conf")]

    def tunnels(self) -> list:
        """[(squid result code, HTTP status, target, user)] of CONNECT lines."""
        out = []
        for line in self.log_text().splitlines():
            m = self.LINE.match(line)
            if m:
                out.append((m.group(1), int(m.group(2)), m.group(3), m.group(4)))
        return out

    def _parse_connects(self) -> list:
        return [t[2] for t in self.tunnels()]

    def _ready_text(self) -> str:
        try:
            return (self.dir / "cache.log").read_text(errors="replace")
        except OSError:
            return ""

    def _diagnostics(self) -> str:
        return super()._diagnostics() + "\n" + _tail(self.dir / "cache.log")

    def _cleanup(self):
        for f in Path("/dev/shm").glob(f"{self.service}-*"):
            try:
                f.unlink()
            except OSError:
                pass

    def remove(self):
        """Stop and delete the private directory (called at teardown)."""
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def _tail(p: Path, n: int = 3000) -> str:
    try:
        return f"--- {p.name} ---\n" + p.read_text(errors="replace")[-n:]
    except OSError:
        return ""


def connect_through(proxy: Proxy, host: str, port: int, auth: tuple | None = None,
                    timeout: float = 5.0) -> tuple:
    """Open a CONNECT tunnel by hand: (status line, socket or None).
    For the self-test that proves a proxy is configured right."""
    import base64
    s = socket.create_connection((proxy.host, proxy.port), timeout=timeout)
    req = f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if auth:
        tok = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req += f"Proxy-Authorization: Basic {tok}\r\n"
    s.sendall((req + "\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    status = buf.split(b"\r\n", 1)[0].decode(errors="replace")
    if " 200 " in status + " ":
        return status, s
    s.close()
    return status, None


class Relay:
    """A byte-for-byte TCP relay in front of a real proxy, recording what the
    client sent before the proxy's answer (the CONNECT head): the proxies'
    logs do not show headers. stall=True: accept and never answer (a proxy
    that hangs in the CONNECT exchange)."""

    def __init__(self, upstream: Proxy | None, stall: bool = False):
        import threading
        self.upstream = upstream
        self.stall = stall
        self.heads: list[bytes] = []
        self.connections = 0
        self._stop = threading.Event()
        self._socks: list = []
        self._lock = threading.Lock()
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind((LOOPBACK, 0))
        self.srv.listen(32)
        self.srv.settimeout(0.1)
        self.host, self.port = LOOPBACK, self.srv.getsockname()[1]
        self._t = threading.Thread(target=self._accept, daemon=True)
        self._t.start()

    @property
    def hostport(self) -> str:
        return f"{self.host}:{self.port}"

    def url(self, user=None, password=None) -> str:
        if user is None:
            return f"http://{self.hostport}"
        from urllib.parse import quote
        return f"http://{quote(user, safe='')}:{quote(password, safe='')}@{self.hostport}"

    def _accept(self):
        import threading
        while not self._stop.is_set():
            try:
                c, _ = self.srv.accept()
            except OSError:
                continue
            with self._lock:
                self.connections += 1
                self._socks.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        import threading
        buf = b""
        c.settimeout(30)
        try:
            while b"\r\n\r\n" not in buf and len(buf) < 65536:
                chunk = c.recv(4096)
                if not chunk:
                    break
                buf += chunk
            with self._lock:
                self.heads.append(buf.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n")
            if self.stall:
                self._stop.wait()
                return
            u = socket.create_connection((self.upstream.host, self.upstream.port), timeout=10)
            with self._lock:
                self._socks.append(u)
            u.sendall(buf)

            def pump(a, b):
                try:
                    while True:
                        d = a.recv(65536)
                        if not d:
                            break
                        b.sendall(d)
                except OSError:
                    pass
                finally:
                    for s in (a, b):
                        try:
                            s.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
            t = threading.Thread(target=pump, args=(u, c), daemon=True)
            t.start()
            pump(c, u)
            t.join(30)
        except OSError:
            pass
        finally:
            for s in (c,):
                try:
                    s.close()
                except OSError:
                    pass

    def stop(self):
        self._stop.set()
        self.srv.close()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            try:
                s.close()
            except OSError:
                pass
        self._t.join(2)


def record_peers(standin) -> list:
    """Record the peer address of every connection a stand-in accepts:
    P.OUTGOING (127.0.0.2) when it came through a proxy, 127.0.0.1 direct."""
    peers: list = []
    orig = standin._connection

    def wrapped(sock, addr):
        peers.append(addr[0])
        return orig(sock, addr)
    standin._connection = wrapped          # _Server.finish_request looks it up per call
    standin.peers = peers
    return peers
