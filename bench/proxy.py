"""bench/proxy.py -- a loopback TCP proxy that counts what crosses it.

One CountingProxy sits in front of each endpoint (STS, IAM, the API server).
It forwards bytes unchanged (TLS is end to end) and records per connection:
open/close time, bytes client->server and server->client, and what the
plaintext part of the TLS handshake shows: the version the server chose,
whether the handshake resumed a session (TLS 1.3: pre_shared_key in
ServerHello; TLS 1.2: the ServerHello echoes the client's non-empty session
id), the cipher suite, the ECDHE group (TLS 1.3 key_share; TLS 1.2
ServerKeyExchange), the size of the server's Certificate message and its
leaf's key type (TLS 1.2 only; TLS 1.3 encrypts them). Every TCP connection carries exactly one
TLS handshake here (nobody renegotiates), so connections = handshakes.
"""
from __future__ import annotations

import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

GROUPS = {23: "secp256r1", 24: "secp384r1", 25: "secp521r1", 29: "x25519", 30: "x448",
          0x11EC: "X25519MLKEM768"}


@dataclass
class Conn:
    t_open: float
    t_close: float = 0.0
    up: int = 0            # client -> server bytes
    down: int = 0          # server -> client bytes
    version: str = ""
    resumed: bool = False
    cipher: int = 0
    group: str = ""
    cert_msg_bytes: int = 0
    cert_key: str = ""     # the leaf's key: "RSA-2048", "EC-P-256", ...
    _ch_sid: bytes = b""
    _hs_up: bytearray = field(default_factory=bytearray, repr=False)
    _hs_down: bytearray = field(default_factory=bytearray, repr=False)
    _done_up: bool = False
    _done_down: bool = False


def _records(buf: bytearray):
    """Yield (content_type, payload) of complete TLS records at the start of buf."""
    pos = 0
    while len(buf) - pos >= 5:
        ctype, _ver, n = struct.unpack(">BHH", buf[pos:pos + 5])
        if len(buf) - pos - 5 < n:
            break
        yield ctype, bytes(buf[pos + 5:pos + 5 + n])
        pos += 5 + n


def _handshake_msgs(buf: bytearray):
    """(handshake messages from the plaintext records, saw_non_handshake)."""
    hs = b""
    other = False
    for ctype, payload in _records(buf):
        if ctype != 22:
            other = True
            break
        hs += payload
    msgs, pos = [], 0
    while len(hs) - pos >= 4:
        t = hs[pos]
        n = int.from_bytes(hs[pos + 1:pos + 4], "big")
        if len(hs) - pos - 4 < n:
            break
        msgs.append((t, hs[pos + 4:pos + 4 + n]))
        pos += 4 + n
    return msgs, other


def _extensions(b: bytes, pos: int):
    if len(b) - pos < 2:
        return {}
    end = pos + 2 + int.from_bytes(b[pos:pos + 2], "big")
    pos += 2
    ext = {}
    while pos + 4 <= end:
        t, n = struct.unpack(">HH", b[pos:pos + 4])
        ext[t] = b[pos + 4:pos + 4 + n]
        pos += 4 + n
    return ext


def _leaf_key(m: bytes) -> str:
    """The key type of the first certificate of a TLS 1.2 Certificate message."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec, rsa
        n = int.from_bytes(m[3:6], "big")
        k = x509.load_der_x509_certificate(m[6:6 + n]).public_key()
        if isinstance(k, rsa.RSAPublicKey):
            return f"RSA-{k.key_size}"
        if isinstance(k, ec.EllipticCurvePublicKey):
            return {"secp256r1": "P-256", "secp384r1": "P-384"}.get(k.curve.name, k.curve.name)
        return type(k).__name__
    except Exception as ex:  # the bench reports, it does not judge
        return f"? ({ex.__class__.__name__})"


def _client_hello(c: Conn):
    msgs, _ = _handshake_msgs(c._hs_up)
    for t, m in msgs:
        if t == 1:
            sid_len = m[34]
            c._ch_sid = m[35:35 + sid_len]
            c._done_up = True
            return


def _server_flight(c: Conn):
    msgs, other = _handshake_msgs(c._hs_down)
    for t, m in msgs:
        if t == 2 and not c.version:                   # ServerHello
            ver = int.from_bytes(m[0:2], "big")
            sid_len = m[34]
            sid = m[35:35 + sid_len]
            pos = 35 + sid_len
            c.cipher = int.from_bytes(m[pos:pos + 2], "big")
            ext = _extensions(m, pos + 3)
            if 43 in ext and len(ext[43]) == 2:
                ver = int.from_bytes(ext[43], "big")
            c.version = {0x0303: "TLS1.2", 0x0304: "TLS1.3"}.get(ver, hex(ver))
            if ver == 0x0304:
                c.resumed = 41 in ext
                if 51 in ext and len(ext[51]) >= 2:
                    g = int.from_bytes(ext[51][0:2], "big")
                    c.group = GROUPS.get(g, str(g))
                c._done_down = True
                return
            c.resumed = bool(sid) and sid == c._ch_sid
        elif t == 11:                                   # Certificate (TLS 1.2)
            c.cert_msg_bytes = len(m)
            c.cert_key = _leaf_key(m)
        elif t == 12 and len(m) >= 3 and m[0] == 3:     # ServerKeyExchange, named curve
            g = int.from_bytes(m[1:3], "big")
            c.group = GROUPS.get(g, str(g))
        elif t == 14:                                   # ServerHelloDone
            c._done_down = True
    if other:
        c._done_down = True


class CountingProxy:
    def __init__(self, target_port: int, name: str, target_host: str = "127.0.0.1"):
        self.name = name
        self.target = (target_host, target_port)
        self.conns: list[Conn] = []
        self._lock = threading.Lock()
        self._ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._ls.bind(("127.0.0.1", 0))
        self._ls.listen(128)
        self.port = self._ls.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, name=f"proxy-{name}", daemon=True).start()

    def _accept(self):
        while not self._stop:
            try:
                cs, _ = self._ls.accept()
            except OSError:
                return
            c = Conn(time.time())
            with self._lock:
                self.conns.append(c)
            threading.Thread(target=self._pump, args=(cs, c), daemon=True).start()

    def _pump(self, cs: socket.socket, c: Conn):
        try:
            ss = socket.create_connection(self.target, timeout=10)
        except OSError:
            cs.close()
            c.t_close = time.time()
            return
        for s in (cs, ss):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        peer = {cs: ss, ss: cs}
        open_ = {cs, ss}
        try:
            while open_:
                r, _, _ = select.select(list(open_), [], [], 60)
                if not r:
                    break
                for s in r:
                    try:
                        data = s.recv(65536)
                    except OSError:
                        data = b""
                    if not data:
                        open_.discard(s)
                        try:
                            peer[s].shutdown(socket.SHUT_WR)
                        except OSError:
                            pass
                        continue
                    self._count(c, s is cs, data)
                    try:
                        peer[s].sendall(data)
                    except OSError:
                        open_.clear()
        finally:
            c.t_close = time.time()
            cs.close()
            ss.close()

    def _count(self, c: Conn, up: bool, data: bytes):
        if up:
            c.up += len(data)
            if not c._done_up and len(c._hs_up) < 65536:
                c._hs_up += data
                _client_hello(c)
        else:
            c.down += len(data)
            if not c._done_down and len(c._hs_down) < 65536:
                c._hs_down += data
                _server_flight(c)

    def between(self, t0: float, t1: float) -> list[Conn]:
        with self._lock:
            return [c for c in self.conns if t0 <= c.t_open <= t1]

    def stop(self):
        self._stop = True
        try:
            self._ls.close()
        except OSError:
            pass
