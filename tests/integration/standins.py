"""Local HTTPS stand-ins for Google STS, IAM Credentials and the Kubernetes
API server, for the regcred integration tests and tests/demo.py.

Each stand-in is a ThreadingHTTPServer on 127.0.0.1 (ephemeral port) whose
connections are wrapped in TLS in the worker thread (so a "stall before the
handshake" fault is possible). They speak HTTP/1.1, validate requests as
strictly as the real services (answering with the real services' error
formats), record every request, and take fault injections per connection:

    srv.inject(status_fault(403, body), times=1)   # next connection only
    srv.inject(GARBAGE, times=None)                # every connection

A request the stand-in rejects because regcred sent something wrong is also
appended to srv.violations; the tests assert that list stays empty.
"""
from __future__ import annotations

import base64
import binascii
import copy
import datetime
import http
import json
import re
import secrets
import socket
import ssl
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"
SCOPE_CLOUD = "https://www.googleapis.com/auth/cloud-platform"
SCOPE_IAM = "https://www.googleapis.com/auth/iam"
DOCKERCFG_TYPE = "kubernetes.io/dockerconfigjson"
DOCKER_USER = "oauth2accesstoken"
MANAGED_BY = {"app.kubernetes.io/managed-by": "regcred"}
EXPIRY_ANNOTATION = "regcred/token-expiry"
RFC3339_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(t: datetime.datetime) -> str:
    return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(s: str) -> datetime.datetime:
    s = re.sub(r"\.\d+Z$", "Z", s)
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def fake_jwt(sub: str = "system:serviceaccount:bifrost:regcred") -> str:
    """A JWT-shaped random string (not signed; nobody verifies it here)."""
    def b64(d: bytes) -> str:
        return base64.urlsafe_b64encode(d).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "RS256", "kid": secrets.token_hex(8)}).encode())
    body = b64(json.dumps({"aud": ["api://AzureADTokenExchange"], "sub": sub,
                           "jti": secrets.token_hex(16),
                           "iss": "https://oidc.prod-aks.azure.com/x/"}).encode())
    return f"{head}.{body}.{b64(secrets.token_bytes(64))}"


def strict_json(data: bytes):
    """json.loads that also refuses duplicate keys, NaN/Infinity and non-UTF-8."""
    def pairs(items):
        d = {}
        for k, v in items:
            if k in d:
                raise ValueError(f"duplicate key {k!r}")
            d[k] = v
        return d

    def const(c):
        raise ValueError(f"bad constant {c}")
    return json.loads(data.decode("utf-8"), object_pairs_hook=pairs, parse_constant=const)


# --------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------

@dataclass
class Fault:
    kind: str                      # respond garbage oversized truncated stall_tcp stall_tls
    status: int = 200
    body: bytes = b""
    headers: list = field(default_factory=list)
    chunked: bool | None = None    # None: the stand-in's default
    content_type: str = "application/json; charset=UTF-8"


def status_fault(status: int, body, headers=None, chunked=None,
                 content_type="application/json; charset=UTF-8") -> Fault:
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body, indent=2)
    if isinstance(body, str):
        body = body.encode()
    return Fault("respond", status, body, list(headers or []), chunked, content_type)


GARBAGE = Fault("garbage", 200, b"<html><head><title>Hello</title></head><body>"
                b"Sorry, this is not JSON {\"access_token\": </body></html>\n",
                content_type="text/html; charset=UTF-8")
OVERSIZED = Fault("oversized", 200, chunked=False)
OVERSIZED_CHUNKED = Fault("oversized", 200, chunked=True)
TRUNCATED = Fault("truncated", 200)
STALL_TCP = Fault("stall_tcp")
STALL_TLS = Fault("stall_tls")
RESET = Fault("reset")            # accept TCP, close at once (no TLS)


def alert(code: int) -> Fault:
    """Read the ClientHello, answer with a fatal TLS alert record, close."""
    return Fault("alert", code)
OVERSIZE_BYTES = 2 * 1024 * 1024


def retry503() -> Fault:
    return status_fault(503, {"error": {"code": 503, "message": "The service is currently unavailable.",
                                        "status": "UNAVAILABLE"}},
                        headers=[("Retry-After", "1")])


# --------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------

@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: list            # [(name, value)] in order, duplicates kept
    body: bytes
    tls_version: str = ""
    cipher: str = ""
    sni: str | None = None
    time: float = 0.0

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.target).path

    @property
    def query(self) -> dict:
        return urllib.parse.parse_qs(urllib.parse.urlsplit(self.target).query,
                                     keep_blank_values=True)

    def header(self, name: str) -> str | None:
        vals = self.header_all(name)
        return vals[0] if vals else None

    def header_all(self, name: str) -> list:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def json(self):
        return strict_json(self.body)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list = field(default_factory=list)
    content_type: str = "application/json; charset=UTF-8"
    chunked: bool | None = None
    stream: object = None          # an iterator of chunks (a watch): sent as they come


class Reject(Exception):
    """regcred sent something the real service would refuse."""

    def __init__(self, reason: str, response: Response):
        super().__init__(reason)
        self.reason = reason
        self.response = response


# --------------------------------------------------------------------------
# The server machinery
# --------------------------------------------------------------------------

class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, standin: "StandIn", bind: str = "127.0.0.1", port: int = 0):
        self.standin = standin
        if ":" in bind:
            self.address_family = socket.AF_INET6
        super().__init__((bind, port), _Handler)

    def finish_request(self, request, client_address):
        self.standin._connection(request, client_address)

    def handle_error(self, request, client_address):
        pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "standin"
    sys_version = ""
    timeout = 20

    def log_message(self, *a):
        pass

    def do_POST(self):
        self._dispatch()

    do_PATCH = do_PUT = do_GET = do_DELETE = do_HEAD = do_OPTIONS = do_POST

    def _dispatch(self):
        st: StandIn = self.server.standin
        fault: Fault | None = st._local.fault
        st._local.fault = None      # one request per fault
        headers = list(self.headers.items())
        framing = self._framing(headers)
        body = b""
        if framing is None and self.headers["Content-Length"] is not None:
            n = int(self.headers["Content-Length"])
            body = self.rfile.read(n) if n else b""
        tls = self.connection
        plain = not isinstance(tls, ssl.SSLSocket)      # StandIn.tls = False
        req = Request(self.command, self.path, self.request_version, headers, body,
                      "" if plain else tls.version() or "",
                      "" if plain else (tls.cipher() or ("",))[0],
                      getattr(tls, "_standin_sni", None), time.time())
        with st._lock:
            st.requests.append(req)
        if framing is not None:
            st._violation(framing.reason)
            self._send(framing.response, st)
            self.close_connection = True
            return
        if fault is not None:
            self._fault(fault, st)
            return
        try:
            st._common_checks(req)
            resp = st.handle(req)
        except Reject as r:
            st._violation(r.reason)
            resp = r.response
        self._send(resp, st)

    def _framing(self, headers) -> Reject | None:
        st: StandIn = self.server.standin
        if self.request_version != "HTTP/1.1":
            return Reject(f"request line version {self.request_version}",
                          st.error_response(400, "Bad request line", "BadRequest"))
        te = [v for k, v in headers if k.lower() == "transfer-encoding"]
        cl = [v for k, v in headers if k.lower() == "content-length"]
        if te:
            return Reject("request has Transfer-Encoding",
                          st.error_response(400, "Transfer-Encoding not allowed", "BadRequest"))
        if not cl and self.command in ("GET", "HEAD"):
            cl = ["0"]          # a GET needs no body framing
        if len(cl) != 1 or not re.fullmatch(r"[0-9]+", cl[0]):
            return Reject(f"Content-Length missing or malformed: {cl!r}",
                          Response(411, b"<!DOCTYPE html>\n<title>Error 411 (Length Required)!!1</title>\n"
                                   b"<p><b>411.</b> <ins>That\xe2\x80\x99s an error.</ins>\n<p>POST requests "
                                   b"require a <code>Content-length</code> header.\n",
                                   content_type="text/html; charset=UTF-8", chunked=False))
        for k, v in headers:
            if any((ord(c) < 32 and c != "\t") or ord(c) == 127 for c in k + v):
                return Reject(f"control byte in header {k!r}",
                              st.error_response(400, "Bad header", "BadRequest"))
        return None

    def _head(self, status: int, headers: list, ctype: str | None):
        w = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n".encode()]
        if ctype:
            w.append(f"Content-Type: {ctype}\r\n".encode())
        w.append(f"Date: {self.date_time_string()}\r\n".encode())
        for k, v in headers:
            w.append(f"{k}: {v}\r\n".encode())
        return b"".join(w)

    def _send(self, resp: Response, st: "StandIn"):
        if resp.stream is not None:
            hdrs = st.extra_headers() + list(resp.headers)
            self.wfile.write(self._head(resp.status, hdrs, resp.content_type) +
                             b"Transfer-Encoding: chunked\r\n\r\n")
            self.wfile.flush()
            for chunk in resp.stream:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            return
        chunked = st.chunked if resp.chunked is None else resp.chunked
        hdrs = st.extra_headers() + list(resp.headers)
        head = self._head(resp.status, hdrs, resp.content_type)
        if not chunked:
            self.wfile.write(head + f"Content-Length: {len(resp.body)}\r\n\r\n".encode() + resp.body)
            return
        self.wfile.write(head + b"Transfer-Encoding: chunked\r\n\r\n")
        body = resp.body
        cuts = sorted({0, len(body) // 3, (2 * len(body)) // 3, len(body)})
        for i, (a, b) in enumerate(zip(cuts, cuts[1:])):
            if a == b:
                continue
            ext = ";standin=1" if i == 0 else ""
            self.wfile.write(f"{b - a:x}{ext}\r\n".encode() + body[a:b] + b"\r\n")
            time.sleep(0.005)       # separate TLS records
        self.wfile.write(b"0\r\n\r\n")

    def _fault(self, f: Fault, st: "StandIn"):
        try:
            if f.kind in ("respond", "garbage"):
                self._send(Response(f.status, f.body, f.headers, f.content_type, f.chunked), st)
            elif f.kind == "oversized":
                piece = b"A" * 65536
                start = b'{"access_token":"ya29.'
                if f.chunked:
                    self.wfile.write(self._head(200, st.extra_headers(), f.content_type)
                                     + b"Transfer-Encoding: chunked\r\n\r\n")
                    self.wfile.write(f"{len(start):x}\r\n".encode() + start + b"\r\n")
                    for _ in range(OVERSIZE_BYTES // len(piece)):
                        self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                    self.wfile.write(b'3\r\n"}\n\r\n0\r\n\r\n')
                else:
                    total = len(start) + OVERSIZE_BYTES + 3
                    self.wfile.write(self._head(200, st.extra_headers(), f.content_type)
                                     + f"Content-Length: {total}\r\n\r\n".encode() + start)
                    for _ in range(OVERSIZE_BYTES // len(piece)):
                        self.wfile.write(piece)
                    self.wfile.write(b'"}\n')
            elif f.kind == "truncated":
                body = st.truncated_body()
                self.wfile.write(self._head(200, st.extra_headers(), f.content_type)
                                 + f"Content-Length: {len(body) + 100}\r\n\r\n".encode() + body)
                time.sleep(0.05)
                self.connection.shutdown(socket.SHUT_RDWR)   # no close_notify
            elif f.kind == "stall_tls":
                st._stop.wait()
        except OSError:
            pass
        self.close_connection = True


class StandIn:
    """Base: TLS listener, fault queue, recording. Subclasses implement handle().

    bind/port: where to listen (port 0: ephemeral). A subclass with
    tls = False speaks plain HTTP (cert None), e.g. a metadata server."""
    name = "standin"
    chunked = False
    tls = True

    def __init__(self, cert, host_name: str = "localhost", bind: str = "127.0.0.1",
                 port: int = 0):
        self.host_name = host_name          # what the Host header must name
        self.requests: list[Request] = []
        self.violations: list[str] = []
        self.connections = 0
        self.tls_failures: list[str] = []
        self.snis: list = []                # SNI of every TLS ClientHello
        self._faults: list = []             # [[Fault, remaining or None]]
        self._lock = threading.Lock()
        self._local = threading.local()
        self._stop = threading.Event()
        self._socks: list = []
        if self.tls:
            self.set_cert(cert)
        else:
            self.cert = None
        self._srv = _Server(self, bind, port)
        self.port = self._srv.server_address[1]
        self._thread = threading.Thread(target=self._srv.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        name=f"{self.name}-{self.port}", daemon=True)
        self._thread.start()

    # -- configuration -----------------------------------------------------
    def set_cert(self, cert):
        """Serve a certs.ServerCert from the next connection on."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(cert.chain_file, cert.key_file)

        def sni_cb(sock, name, _ctx):
            sock._standin_sni = name
            with self._lock:
                self.snis.append(name)      # None: the client sent no SNI
        ctx.sni_callback = sni_cb
        self.cert = cert
        self.ctx = ctx

    def inject(self, fault: Fault, times: int | None = 1):
        """Apply fault to the next `times` connections (None: all of them)."""
        with self._lock:
            self._faults.append([fault, times])

    def clear_faults(self):
        with self._lock:
            self._faults.clear()

    @property
    def hostport(self) -> str:
        """The Host header value: the port is left out when it is the
        scheme's default (443, or 80 without TLS), as clients send it."""
        if self.port == (443 if self.tls else 80):
            return self.host_name
        return f"{self.host_name}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.hostport}"

    def stop(self):
        self._stop.set()
        self._srv.shutdown()
        self._srv.server_close()
        with self._lock:
            socks, self._socks = self._socks, []
        for s in socks:
            try:
                s.close()
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()

    # -- connection handling -------------------------------------------------
    def _take_fault(self) -> Fault | None:
        with self._lock:
            self.connections += 1
            if not self._faults:
                return None
            entry = self._faults[0]
            if entry[1] is not None:
                entry[1] -= 1
                if entry[1] <= 0:
                    self._faults.pop(0)
            return entry[0]

    def _connection(self, sock, addr):
        with self._lock:
            self._socks.append(sock)
        fault = self._take_fault()
        if fault is not None and fault.kind == "stall_tcp":
            self._stop.wait()
            return
        if fault is not None and fault.kind == "alert":
            try:
                sock.settimeout(5)
                sock.recv(16384)
                sock.sendall(bytes([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, fault.status]))
            except OSError:
                pass
            sock.close()
            return
        if fault is not None and fault.kind == "reset":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.close()
            return
        sock.settimeout(15)
        if not self.tls:
            self._serve_plain(sock, addr, fault)
            return
        try:
            tls = self.ctx.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as e:
            with self._lock:
                self.tls_failures.append(f"{type(e).__name__}: {e}")
            return
        with self._lock:
            self._socks.append(tls)
        self._local.fault = fault
        try:
            _Handler(tls, addr, self._srv)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def _serve_plain(self, sock, addr, fault):
        self._local.fault = fault
        try:
            _Handler(sock, addr, self._srv)
        except OSError:
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _violation(self, reason: str):
        with self._lock:
            self.violations.append(f"{self.name}: {reason}")

    def _common_checks(self, req: Request):
        hosts = req.header_all("Host")
        if hosts != [self.hostport]:
            raise Reject(f"Host header {hosts!r}, want {self.hostport!r}",
                         self.error_response(400, "Bad Host header", "BadRequest"))
        if not req.target.startswith("/"):
            raise Reject(f"request target not origin-form: {req.target!r}",
                         self.error_response(400, "Bad request target", "BadRequest"))

    # -- per service ---------------------------------------------------------
    def handle(self, req: Request) -> Response:
        raise NotImplementedError

    def error_response(self, status: int, message: str, reason: str) -> Response:
        raise NotImplementedError

    def extra_headers(self) -> list:
        return []

    def truncated_body(self) -> bytes:
        return b'{"access_token":"ya29.truncated'

    def methods(self) -> list:
        return [r.method for r in self.requests]


# --------------------------------------------------------------------------
# Google
# --------------------------------------------------------------------------

def _token(prefix: str, length: int | None, default_random: int) -> str:
    """A Google-shaped access token; exactly `length` bytes when given (a
    stand-in's token_len: Google documents STS tokens up to 12,288)."""
    if length is None:
        return prefix + secrets.token_urlsafe(default_random)
    body = secrets.token_urlsafe(length)
    return (prefix + body)[:length]


class _Google(StandIn):
    chunked = True

    def extra_headers(self) -> list:
        return [("Vary", "X-Origin"), ("Vary", "Referer"), ("Vary", "Origin,Accept-Encoding"),
                ("Server", "ESF"), ("X-XSS-Protection", "0"),
                ("X-Frame-Options", "SAMEORIGIN"), ("X-Content-Type-Options", "nosniff"),
                ("Cache-Control", "private"),
                ("Alt-Svc", 'h3=":443"; ma=2592000,h3-29=":443"; ma=2592000')]

    def error_response(self, status, message, reason="INVALID_ARGUMENT") -> Response:
        return Response(status, json.dumps({"error": {"code": status, "message": message,
                                                      "status": reason}}, indent=2).encode())


class STS(_Google):
    """sts.googleapis.com: POST /v1/token (RFC 8693 token exchange)."""
    name = "sts"
    FIELDS = {"grant_type", "audience", "scope", "requested_token_type",
              "subject_token", "subject_token_type", "options"}

    def __init__(self, cert, audience: str, subject_token: str,
                 subject_token_type: str = JWT_TYPE, client_id: str | None = None,
                 client_secret: str | None = None, workforce: bool = False,
                 expires_in=3599, **listen):
        self.audience = audience
        self.subject_token = subject_token
        self.subject_token_type = subject_token_type
        self.client_id = client_id
        self.client_secret = client_secret
        self.workforce = workforce
        self.expires_in = expires_in
        self.issued: list[str] = []
        super().__init__(cert, **listen)

    @staticmethod
    def oauth_error(status, error, desc) -> Response:
        return Response(status, json.dumps({"error": error, "error_description": desc}).encode())

    def error_response(self, status, message, reason="invalid_request") -> Response:
        return self.oauth_error(status, "invalid_request", message)

    def truncated_body(self) -> bytes:
        return b'{"access_token":"ya29.d.truncated","issued_token_type":"urn:ietf:params'

    def check_subject_token(self, token: str | None) -> Response | None:
        """None if the subject token is accepted, else the error to answer.

        Here: it must be exactly the token file's content (a mismatch is
        regcred's fault, a violation). Subclasses may verify it instead as
        Workload Identity Federation does (tests/e2e/wif.py).
        """
        if token != self.subject_token:
            raise Reject("subject_token differs from the token file", self.oauth_error(
                400, "invalid_grant", "The incoming JWT does not match the expected format."))
        return None

    def handle(self, req: Request) -> Response:
        bad = lambda why, desc=None: Reject(why, self.oauth_error(400, "invalid_request", desc or why))
        if req.method != "POST" or req.path != "/v1/token" or req.query:
            raise Reject(f"{req.method} {req.target}",
                         Response(404, b"<!DOCTYPE html>\n<p><b>404.</b> That\xe2\x80\x99s an error.\n",
                                  content_type="text/html; charset=UTF-8"))
        ctype = req.header("Content-Type") or ""
        if ctype.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            raise bad(f"Content-Type {ctype!r}", "Invalid Content-Type")
        # client authentication
        auth = req.header_all("Authorization")
        if self.client_id is not None:
            want = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            if auth != [want]:
                raise Reject(f"Basic client authentication missing or wrong: {len(auth)} header(s)",
                             self.oauth_error(401, "invalid_client", "The OAuth client was not found."))
        elif auth:
            raise bad("unexpected Authorization header on STS request")
        try:
            text = req.body.decode("ascii")
            pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, strict_parsing=True,
                                           errors="strict", max_num_fields=20)
        except (UnicodeDecodeError, ValueError) as e:
            raise bad(f"body not form-encoded: {e}")
        form: dict = {}
        for k, v in pairs:
            if k in form:
                raise bad(f"duplicate field {k}", f"Duplicate parameter: {k}")
            if k not in self.FIELDS:
                raise bad(f"unknown field {k}", f"Invalid parameter: {k}")
            if v == "":
                raise bad(f"empty field {k}")
            form[k] = v
        if form.get("grant_type") != GRANT_TOKEN_EXCHANGE:
            raise bad(f"grant_type {form.get('grant_type')!r}", 'Invalid value for "grant_type".')
        if form.get("requested_token_type") != ACCESS_TOKEN_TYPE:
            raise bad(f"requested_token_type {form.get('requested_token_type')!r}",
                      'Invalid value for "requested_token_type".')
        if form.get("scope") not in (SCOPE_CLOUD, SCOPE_IAM):
            raise bad(f"scope {form.get('scope')!r}", 'Invalid value for "scope".')
        if form.get("subject_token_type") != self.subject_token_type:
            raise bad(f"subject_token_type {form.get('subject_token_type')!r}",
                      'Invalid value for "subject_token_type".')
        if "options" in form:
            if not self.workforce or self.client_id is not None:
                raise bad("options sent for a workload identity pool", 'Invalid value for "options".')
        if "audience" not in form:
            raise bad("audience missing", 'Missing parameter: "audience".')
        if form["audience"] != self.audience:
            raise Reject(f"audience {form['audience']!r}", self.oauth_error(
                400, "invalid_target", "The target service indicated by the \"audience\" parameters "
                "is invalid. This might either be because the pool or provider is disabled or deleted "
                "or because it doesn't exist."))
        refused = self.check_subject_token(form.get("subject_token"))
        if refused is not None:
            return refused
        tok = _token("ya29.d.fed", getattr(self, "token_len", None), 96)
        with self._lock:
            self.issued.append(tok)
        return Response(200, json.dumps({
            "access_token": tok, "issued_token_type": ACCESS_TOKEN_TYPE,
            "token_type": "Bearer", "expires_in": self.expires_in}, indent=2).encode())


class IAM(_Google):
    """iamcredentials.googleapis.com: generateAccessToken."""
    name = "iam"
    SA_PATH = re.compile(r"^/v1/projects/-/serviceAccounts/([^/]+):generateAccessToken$")

    def __init__(self, cert, email: str, sts: STS | None = None, lifetime: str = "3600s",
                 **listen):
        self.email = email
        self.sts = sts
        self.lifetime = lifetime
        self.scope = [SCOPE_CLOUD]
        self.issued: list[str] = []
        self.expire_times: list[str] = []
        super().__init__(cert, **listen)

    def truncated_body(self) -> bytes:
        return b'{\n  "accessToken": "ya29.c.truncated'

    def url(self) -> str:
        return f"{self.base_url}/v1/projects/-/serviceAccounts/{self.email}:generateAccessToken"

    def handle(self, req: Request) -> Response:
        m = self.SA_PATH.match(urllib.parse.unquote(req.path))
        if req.method != "POST" or not m or req.query:
            raise Reject(f"{req.method} {req.target}", self.error_response(
                404, "Requested entity was not found.", "NOT_FOUND"))
        auth = req.header_all("Authorization")
        valid = set(self.sts.issued) if self.sts else set()
        if len(auth) != 1 or not auth[0].startswith("Bearer ") or auth[0][7:] not in valid:
            raise Reject(f"Authorization is not a bearer STS token ({len(auth)} header(s))",
                         self.error_response(401, "Request had invalid authentication credentials. "
                                             "Expected OAuth 2 access token, login cookie or other valid "
                                             "authentication credential. See https://developers.google.com/"
                                             "identity/sign-in/web/devconsole-project.", "UNAUTHENTICATED"))
        if m.group(1) != self.email:
            raise Reject(f"service account {m.group(1)!r}", self.error_response(
                404, f"Not found; Gaia id not found for email {m.group(1)}", "NOT_FOUND"))
        ctype = req.header("Content-Type") or ""
        if ctype.split(";")[0].strip().lower() != "application/json":
            raise Reject(f"Content-Type {ctype!r}", self.error_response(
                400, "Invalid JSON payload received. Unexpected Content-Type.", "INVALID_ARGUMENT"))
        try:
            body = req.json()
        except (ValueError, UnicodeDecodeError) as e:
            raise Reject(f"body not JSON: {e}", self.error_response(
                400, f"Invalid JSON payload received. {e}", "INVALID_ARGUMENT"))
        want = {"scope": self.scope, "lifetime": self.lifetime}
        if body != want:
            extra = set(body) - set(want) if isinstance(body, dict) else set()
            msg = (f'Invalid JSON payload received. Unknown name "{sorted(extra)[0]}": Cannot find field.'
                   if extra else "Request contains an invalid argument.")
            raise Reject(f"body {body!r}, want {want!r}", self.error_response(400, msg, "INVALID_ARGUMENT"))
        tok = _token("ya29.c.imp", getattr(self, "token_len", None), 120)
        seconds = int(self.lifetime.rstrip("s"))
        exp = rfc3339(utcnow() + datetime.timedelta(seconds=seconds))
        with self._lock:
            self.issued.append(tok)
            self.expire_times.append(exp)
        return Response(200, json.dumps({"accessToken": tok, "expireTime": exp}, indent=2).encode())


def permission_denied() -> Fault:
    return status_fault(403, {"error": {
        "code": 403,
        "message": "Permission 'iam.serviceAccounts.getAccessToken' denied on resource "
                   "(or it may not exist).",
        "status": "PERMISSION_DENIED",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                     "reason": "IAM_PERMISSION_DENIED", "domain": "iam.googleapis.com",
                     "metadata": {"permission": "iam.serviceAccounts.getAccessToken"}}]}})


def invalid_grant(audience: str) -> Fault:
    return status_fault(400, {"error": "invalid_grant",
                              "error_description": f"The audience in ID Token [{audience}] does not "
                                                   "match the expected audience."})


# --------------------------------------------------------------------------
# Kubernetes
# --------------------------------------------------------------------------

def kube_status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    d = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": message, "reason": reason}
    if details is not None:
        d["details"] = details
    d["code"] = code
    return d


def kube_fault(code: int, reason: str, message: str, details=None) -> Fault:
    return status_fault(code, json.dumps(kube_status(code, reason, message, details)) + "\n",
                        content_type="application/json", chunked=False)


def kube_unauthorized() -> Fault:
    return kube_fault(401, "Unauthorized", "Unauthorized")


def kube_forbidden(ns="bifrost", name="ar-pull", sa="system:serviceaccount:bifrost:regcred") -> Fault:
    return kube_fault(403, "Forbidden",
                      f'secrets "{name}" is forbidden: User "{sa}" cannot patch resource "secrets" '
                      f'in API group "" in the namespace "{ns}"',
                      {"name": name, "kind": "secrets"})


def kube_conflict(name="ar-pull") -> Fault:
    return kube_fault(409, "Conflict",
                      f'Operation cannot be fulfilled on secrets "{name}": the object has been '
                      'modified; please apply your changes to the latest version and try again',
                      {"name": name, "kind": "secrets"})


def kube_internal() -> Fault:
    return kube_fault(500, "InternalError", "Internal error occurred: etcdserver: request timed out",
                      {"causes": [{"message": "etcdserver: request timed out"}]})


REGCRED_FIELDS = {"f:data": {"f:.dockerconfigjson": {}},
                  "f:metadata": {"f:annotations": {f"f:{EXPIRY_ANNOTATION}": {}},
                                 "f:labels": {"f:app.kubernetes.io/managed-by": {}}},
                  "f:type": {}}


class Kube(StandIn):
    """kube-apiserver: server-side apply of Secrets, in-memory store."""
    name = "kube"
    PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/secrets/([^/]+)$")
    TOP_KEYS = {"apiVersion", "kind", "metadata", "type", "data"}
    META_KEYS = {"name", "namespace", "labels", "annotations"}

    SA_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/serviceaccounts/([^/]+)$")

    def __init__(self, cert, bearer: str, namespaces=("bifrost", "default", "kube-system"),
                 bind: str = "127.0.0.1"):
        self.bearer = bearer
        self.namespaces = set(namespaces)
        self.forbidden: set = set()         # namespaces without a RoleBinding: 403
        self.retired: set = set()           # bearer tokens expired: 401, not regcred's fault
        self.store: dict = {}
        self.sas: dict = {}                 # (ns, name) -> ServiceAccount
        self.sa_race = 0                    # next N appends meet a concurrent writer
        self.events: list = []              # (rv, type, ns, name, metadata) of Secrets
        self.compacted = 0                  # watches from an rv below this: 410 Gone
        self.watch_allowed = True           # RBAC: watch on the Secret
        self.watch_junk = None              # bytes: a line every watch sends first
        self.gone_as_status = False         # 410 as the HTTP status, not an ERROR event
        self.watches: list = []             # (ns, name, rv) of every watch opened
        self.watch_epoch = 0                # end_watches() ends the streams opened before
        self._rv = 1000
        self.applied: list[dict] = []       # parsed apply bodies that were accepted
        host = f"[{bind}]" if ":" in bind else bind
        super().__init__(cert, host_name=host, bind=bind)
        self._changed = threading.Condition(self._lock)

    def extra_headers(self) -> list:
        return [("Audit-Id", str(uuid.uuid4())), ("Cache-Control", "no-cache, private"),
                ("X-Kubernetes-Pf-Flowschema-Uid", str(uuid.uuid4())),
                ("X-Kubernetes-Pf-Prioritylevel-Uid", str(uuid.uuid4()))]

    def error_response(self, status, message, reason="BadRequest", details=None) -> Response:
        return Response(status, (json.dumps(kube_status(status, reason, message, details)) + "\n").encode(),
                        content_type="application/json")

    def truncated_body(self) -> bytes:
        return b'{"kind":"Secret","apiVersion":"v1","metadata":{"name":'

    @property
    def url(self) -> str:
        return f"https://{self.host_name}:{self.port}"

    # -- store -----------------------------------------------------------------
    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def seed(self, ns: str, name: str, type_: str = DOCKERCFG_TYPE, data: dict | None = None,
             manager: str = "kubectl-create", labels=None, annotations=None) -> dict:
        """Pre-create a Secret as `kubectl create secret ...` would have."""
        if data is None:
            cfg = {"auths": {"europe-docker.pkg.dev": {
                "username": DOCKER_USER, "password": "old-password-0123456789",
                "auth": base64.b64encode(b"oauth2accesstoken:old-password-0123456789").decode()}}}
            data = {".dockerconfigjson": json.dumps(cfg, separators=(",", ":"))}
        enc = {k: base64.b64encode(v.encode() if isinstance(v, str) else v).decode()
               for k, v in data.items()}
        now = rfc3339(utcnow() - datetime.timedelta(days=1))
        meta = {"name": name, "namespace": ns, "uid": str(uuid.uuid4()),
                "resourceVersion": self._next_rv(), "creationTimestamp": now}
        if labels:
            meta["labels"] = dict(labels)
        if annotations:
            meta["annotations"] = dict(annotations)
        meta["managedFields"] = [{"manager": manager, "operation": "Update", "apiVersion": "v1",
                                  "time": now, "fieldsType": "FieldsV1",
                                  "fieldsV1": {"f:data": {".": {}, **{f"f:{k}": {} for k in data}},
                                               "f:type": {}}}]
        s = {"kind": "Secret", "apiVersion": "v1", "metadata": meta, "data": enc, "type": type_}
        with self._lock:
            self.store[(ns, name)] = s
            self._event("ADDED", s)
        return copy.deepcopy(s)

    def _event(self, type_: str, s: dict):
        """Records a change of a Secret for watches (the lock is held)."""
        m = s["metadata"]
        self.events.append((int(m["resourceVersion"]), type_, m["namespace"], m["name"],
                            copy.deepcopy(m)))
        self._changed.notify_all()

    def delete(self, ns: str, name: str):
        """`kubectl delete secret` (the old job's runbook)."""
        with self._lock:
            s = self.store.pop((ns, name))
            s["metadata"]["resourceVersion"] = self._next_rv()
            self._event("DELETED", s)

    def modify(self, ns: str, name: str, password: str = "edited-by-hand-0123456789"):
        """Another writer (kubectl edit) changes the data."""
        cfg = {"auths": {"europe-docker.pkg.dev": {
            "username": DOCKER_USER, "password": password,
            "auth": base64.b64encode(f"oauth2accesstoken:{password}".encode()).decode()}}}
        with self._lock:
            s = self.store[(ns, name)]
            s["data"] = {".dockerconfigjson": base64.b64encode(
                json.dumps(cfg).encode()).decode()}
            s["metadata"]["resourceVersion"] = self._next_rv()
            self._event("MODIFIED", s)

    def get(self, ns: str, name: str) -> dict | None:
        with self._lock:
            s = self.store.get((ns, name))
            return copy.deepcopy(s) if s else None

    def snapshot(self, ns: str, name: str) -> bytes | None:
        s = self.get(ns, name)
        return None if s is None else json.dumps(s, sort_keys=True).encode()

    def dockerconfig(self, ns: str, name: str) -> bytes:
        """The decoded .dockerconfigjson bytes of a stored Secret."""
        return base64.b64decode(self.get(ns, name)["data"][".dockerconfigjson"], validate=True)

    # -- API ---------------------------------------------------------------------
    def handle(self, req: Request) -> Response:
        auth = req.header_all("Authorization")
        if len(auth) == 1 and auth[0][7:] in self.retired:
            return self.error_response(401, "Unauthorized", "Unauthorized")
        if auth != [f"Bearer {self.bearer}"]:
            raise Reject(f"Authorization is not the SA bearer token ({len(auth)} header(s))",
                         self.error_response(401, "Unauthorized", "Unauthorized"))
        if self.SA_PATH.match(req.path):
            return self._sa_patch(req)
        if req.method == "GET" and self.LIST_PATH.match(req.path) and \
                req.query.get("watch") == ["true"]:
            return self._watch(req)
        m = self.PATH.match(req.path)
        if req.method != "PATCH":
            # the documented RBAC grants only patch and create
            verb = {"GET": "get", "DELETE": "delete", "PUT": "update", "POST": "create"}.get(
                req.method, req.method.lower())
            raise Reject(f"regcred sent {req.method} {req.target}", self.error_response(
                403, f'secrets is forbidden: User "system:serviceaccount:bifrost:regcred" cannot '
                f'{verb} resource "secrets" in API group "" in the namespace "bifrost"', "Forbidden"))
        if not m:
            raise Reject(f"PATCH of {req.path!r}", self.error_response(404, "the server could not find "
                                                                       "the requested resource", "NotFound"))
        ns, name = m.group(1), m.group(2)
        if req.query != {"fieldManager": ["regcred"], "force": ["true"]}:
            raise Reject(f"query {req.query!r}", self.error_response(
                400, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                'is required for apply patch', "BadRequest"))
        ctype = req.header("Content-Type")
        if ctype != "application/apply-patch+yaml":
            raise Reject(f"Content-Type {ctype!r}", self.error_response(
                415, "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, "
                "application/strategic-merge-patch+json", "UnsupportedMediaType"))
        try:
            obj = req.json()
        except (ValueError, UnicodeDecodeError) as e:
            raise Reject(f"body not JSON: {e}", self.error_response(
                400, f"error decoding YAML: {e}", "BadRequest"))
        self._check_body(obj, ns, name)
        if ns in self.forbidden:
            f = kube_forbidden(ns, name)
            return Response(403, f.body, content_type="application/json")
        if ns not in self.namespaces:
            return self.error_response(404, f'namespaces "{ns}" not found', "NotFound",
                                       {"name": ns, "kind": "namespaces"})
        self._as(req, {"metadata": {}})     # 406 before anything is applied
        with self._lock:
            self.applied.append(obj)
            cur = self.store.get((ns, name))
            if cur is not None and cur.get("type") != obj["type"]:
                return self.error_response(
                    422, f'Secret "{name}" is invalid: type: Invalid value: "{obj["type"]}": '
                    'field is immutable', "Invalid",
                    {"name": name, "kind": "Secret", "causes": [{
                        "reason": "FieldValueInvalid",
                        "message": f'Invalid value: "{obj["type"]}": field is immutable',
                        "field": "type"}]})
            status, s = self._apply(cur, obj, ns, name)
            self.store[(ns, name)] = s
            if cur is None or s["metadata"]["resourceVersion"] != cur["metadata"]["resourceVersion"]:
                self._event("ADDED" if cur is None else "MODIFIED", s)
            body = json.dumps(self._as(req, s)).encode()
        return Response(status, body, content_type="application/json")

    PARTIAL = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"

    def _as(self, req: Request, s: dict) -> dict:
        """What the API server answers for the request's Accept: the first
        media type it can serve (PartialObjectMetadata: metadata only)."""
        for media in (req.header("Accept") or "application/json").split(","):
            media = media.replace(" ", "")
            if media == self.PARTIAL:
                return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                        "metadata": copy.deepcopy(s["metadata"])}
            if media in ("application/json", "*/*"):
                return s
        raise Reject(f"Accept {req.header('Accept')!r}", self.error_response(
            406, "only the following media types are accepted: application/json, "
            "application/yaml, application/vnd.kubernetes.protobuf", "NotAcceptable"))

    def _invalid(self, why: str, name: str, field_: str, msg: str):
        return Reject(why, self.error_response(
            422, f'Secret "{name}" is invalid: {field_}: {msg}', "Invalid",
            {"name": name, "kind": "Secret",
             "causes": [{"reason": "FieldValueInvalid", "message": msg, "field": field_}]}))

    def _check_body(self, obj, ns: str, name: str):
        bad = lambda why: Reject(why, self.error_response(400, why, "BadRequest"))
        if not isinstance(obj, dict):
            raise bad("body is not an object")
        if set(obj) - self.TOP_KEYS:
            raise bad(f"unexpected top-level keys {sorted(set(obj) - self.TOP_KEYS)}")
        if obj.get("apiVersion") != "v1" or obj.get("kind") != "Secret":
            raise bad(f"apiVersion/kind {obj.get('apiVersion')!r}/{obj.get('kind')!r}")
        meta = obj.get("metadata")
        if not isinstance(meta, dict) or set(meta) - self.META_KEYS:
            raise bad(f"metadata {meta!r}")
        if meta.get("name") != name:
            raise bad(f"the name of the object ({meta.get('name')}) does not match the name on "
                      f"the URL ({name})")
        if meta.get("namespace") != ns:
            raise bad("the namespace of the provided object does not match the namespace sent "
                      "on the request")
        if meta.get("labels") != MANAGED_BY:
            raise bad(f"labels {meta.get('labels')!r}, want {MANAGED_BY!r}")
        ann = meta.get("annotations")
        if not isinstance(ann, dict) or set(ann) != {EXPIRY_ANNOTATION} or \
                not isinstance(ann[EXPIRY_ANNOTATION], str) or \
                not RFC3339_Z.match(ann[EXPIRY_ANNOTATION]):
            raise bad(f"annotations {ann!r}")
        if obj.get("type") != DOCKERCFG_TYPE:
            raise bad(f"type {obj.get('type')!r}")
        data = obj.get("data")
        if not isinstance(data, dict) or set(data) != {".dockerconfigjson"} or \
                not isinstance(data[".dockerconfigjson"], str):
            raise self._invalid(f"data {data!r}", name, "data[.dockerconfigjson]", "Required value")
        try:
            raw = base64.b64decode(data[".dockerconfigjson"], validate=True)
        except (binascii.Error, ValueError):
            raise bad("data[.dockerconfigjson] is not standard base64")
        if base64.b64encode(raw).decode() != data[".dockerconfigjson"]:
            raise bad("data[.dockerconfigjson] is not canonical padded base64")
        try:
            cfg = strict_json(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise self._invalid(f"dockerconfigjson not JSON: {e}", name, "data[.dockerconfigjson]",
                                f"invalid character: {e}")
        auths = cfg.get("auths") if isinstance(cfg, dict) else None
        if set(cfg) != {"auths"} or not isinstance(auths, dict) or not auths:
            raise bad(f"dockerconfigjson shape {list(cfg) if isinstance(cfg, dict) else cfg!r}")
        for reg, ent in auths.items():
            if not isinstance(ent, dict) or list(ent) != ["username", "password", "auth"]:
                raise bad(f"auths[{reg}] keys {list(ent) if isinstance(ent, dict) else ent!r}")
            if ent["username"] != DOCKER_USER:
                raise bad(f"auths[{reg}].username {ent['username']!r}")
            want = base64.b64encode(f"{ent['username']}:{ent['password']}".encode()).decode()
            if ent["auth"] != want:
                raise bad(f"auths[{reg}].auth is not base64(username:password)")

    def _apply(self, cur, obj, ns, name):
        now = rfc3339(utcnow())
        entry = {"manager": "regcred", "operation": "Apply", "apiVersion": "v1", "time": now,
                 "fieldsType": "FieldsV1", "fieldsV1": copy.deepcopy(REGCRED_FIELDS)}
        if cur is None:
            meta = {"name": name, "namespace": ns, "uid": str(uuid.uuid4()),
                    "resourceVersion": self._next_rv(), "creationTimestamp": now,
                    "labels": dict(obj["metadata"]["labels"]),
                    "annotations": dict(obj["metadata"]["annotations"]),
                    "managedFields": [entry]}
            return 201, {"kind": "Secret", "apiVersion": "v1", "metadata": meta,
                         "data": dict(obj["data"]), "type": obj["type"]}
        s = copy.deepcopy(cur)
        meta = s["metadata"]
        before = json.dumps(s, sort_keys=True)
        meta.setdefault("labels", {}).update(obj["metadata"]["labels"])
        meta.setdefault("annotations", {}).update(obj["metadata"]["annotations"])
        s.setdefault("data", {}).update(obj["data"])
        changed = json.dumps(s, sort_keys=True) != before
        mf = [e for e in meta.get("managedFields", []) if e.get("manager") != "regcred"]
        for e in mf:      # force=true: regcred takes the fields over
            e.get("fieldsV1", {}).get("f:data", {}).pop("f:.dockerconfigjson", None)
            e.get("fieldsV1", {}).pop("f:type", None)
        old = [e for e in meta.get("managedFields", []) if e.get("manager") == "regcred"]
        if changed or not old:
            meta["managedFields"] = mf + [entry]
        if changed:
            meta["resourceVersion"] = self._next_rv()
        return 200, s


    # -- watch: metadata-only events of one Secret, as kube-apiserver streams them
    LIST_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/secrets$")
    WATCH_KEYS = {"allowWatchBookmarks", "fieldSelector", "resourceVersion", "timeoutSeconds",
                  "watch"}

    def _watch(self, req: Request) -> Response:
        ns = self.LIST_PATH.match(req.path).group(1)
        q = req.query
        if set(q) - self.WATCH_KEYS or any(len(v) != 1 for v in q.values()) or \
                not q.get("fieldSelector", [""])[0].startswith("metadata.name="):
            raise Reject(f"watch query {q!r}", self.error_response(400, "bad watch", "BadRequest"))
        name = q["fieldSelector"][0][len("metadata.name="):]
        if req.header("Accept") != "application/json;as=PartialObjectMetadata;g=meta.k8s.io;" \
                                   "v=v1, application/json":
            raise Reject(f"watch Accept {req.header('Accept')!r}",
                         self.error_response(406, "not acceptable", "NotAcceptable"))
        if not self.watch_allowed or ns in self.forbidden:
            return self.error_response(
                403, f'secrets "{name}" is forbidden: User "system:serviceaccount:bifrost:regcred" '
                f'cannot watch resource "secrets" in API group "" in the namespace "{ns}"',
                "Forbidden", {"name": name, "kind": "secrets"})
        rv = q.get("resourceVersion", [""])[0]
        timeout = int(q.get("timeoutSeconds", ["1800"])[0])
        with self._lock:    # what the watch starts from, fixed as it opens
            self.watches.append((ns, name, rv))
            if self.gone_as_status and rv and int(rv) < self.compacted:
                return self.error_response(410, f"too old resource version: {rv} "
                                           f"({self.compacted})", "Expired")
            start = (self.watch_epoch, self._watch_start(ns, name, rv))
        return Response(200, content_type="application/json",
                        stream=self._stream(ns, name, start, timeout))

    def _watch_start(self, ns: str, name: str, rv: str):
        """(410 Gone line or None, resourceVersion seen, first line or None);
        called with the lock held."""
        if rv and int(rv) < self.compacted:
            gone = kube_status(410, "Expired", f"too old resource version: {rv} "
                               f"({self.compacted})")
            return (json.dumps({"type": "ERROR", "object": gone}) + "\n").encode(), 0, None
        if rv:
            return None, int(rv), None
        cur = self.store.get((ns, name))    # from now: the current object as ADDED
        return None, self._rv, self._line("ADDED", cur["metadata"]) if cur else None

    def _line(self, type_: str, meta: dict) -> bytes:
        obj = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
               "metadata": copy.deepcopy(meta)}
        return (json.dumps({"type": type_, "object": obj}) + "\n").encode()

    def end_watches(self):
        """Ends every open watch as the server's timeout would."""
        with self._lock:
            self.watch_epoch += 1
            self._changed.notify_all()

    def _stream(self, ns: str, name: str, start, timeout: int):
        end = time.monotonic() + timeout
        epoch, (gone, seen, first) = start
        if gone is not None:
            yield gone
            return
        if self.watch_junk is not None:
            yield self.watch_junk
        if first is not None:
            yield first
        while time.monotonic() < end and not self._stop.is_set():
            with self._lock:
                if self.watch_epoch != epoch:
                    return
                new = [e for e in self.events if e[0] > seen and e[2] == ns and e[3] == name]
                if not new:
                    self._changed.wait(timeout=0.2)
                    continue
                seen = max(e[0] for e in new)
            for e in new:
                yield self._line(e[1], e[4])

    # -- ServiceAccounts: JSON Patch (RFC 6902) of imagePullSecrets ------------
    def seed_sa(self, ns: str, name: str, pull=None) -> dict:
        meta = {"name": name, "namespace": ns, "uid": str(uuid.uuid4()),
                "resourceVersion": self._next_rv(),
                "creationTimestamp": rfc3339(utcnow() - datetime.timedelta(days=1))}
        sa = {"kind": "ServiceAccount", "apiVersion": "v1", "metadata": meta}
        if pull is not None:
            sa["imagePullSecrets"] = [{"name": n} for n in pull]
        with self._lock:
            self.sas[(ns, name)] = sa
        return copy.deepcopy(sa)

    def sa(self, ns: str, name: str) -> dict | None:
        with self._lock:
            s = self.sas.get((ns, name))
            return copy.deepcopy(s) if s else None

    SA_OPS = {("test", "/metadata/name"), ("test", "/metadata/resourceVersion"),
              ("add", "/imagePullSecrets/-"), ("add", "/imagePullSecrets")}

    def _sa_check(self, req: Request):
        if req.method != "PATCH":
            raise Reject(f"{req.method} of a ServiceAccount (RBAC grants patch only)",
                         self.error_response(403, f"serviceaccounts is forbidden: cannot "
                                             f"{req.method.lower()}", "Forbidden"))
        if req.query != {"fieldManager": ["regcred"]}:
            raise Reject(f"ServiceAccount patch query {req.query!r}",
                         self.error_response(400, "unexpected query", "BadRequest"))
        if req.header("Content-Type") != "application/json-patch+json":
            raise Reject(f"ServiceAccount patch Content-Type {req.header('Content-Type')!r}",
                         self.error_response(415, "unsupported media type", "UnsupportedMediaType"))
        try:
            ops = strict_json(req.body)
        except (ValueError, UnicodeDecodeError) as e:
            raise Reject(f"JSON Patch not JSON: {e}", self.error_response(400, str(e), "BadRequest"))
        if not isinstance(ops, list) or not ops or any(
                not isinstance(o, dict) or set(o) != {"op", "path", "value"} or
                (o["op"], o["path"]) not in self.SA_OPS for o in ops):
            raise Reject(f"JSON Patch {ops!r}", self.error_response(400, "bad patch", "BadRequest"))
        return ops

    @staticmethod
    def _jsonpatch(doc: dict, ops: list) -> str | None:
        """RFC 6902 for the ops allowed; returns an error or None."""
        for o in ops:
            parts = o["path"].split("/")[1:]
            if o["op"] == "test":
                cur = doc
                for p in parts:
                    cur = cur.get(p) if isinstance(cur, dict) else None
                if cur != o["value"]:
                    return f"testing value {o['path']} failed: test failed"
            elif parts == ["imagePullSecrets", "-"]:
                if not isinstance(doc.get("imagePullSecrets"), list):
                    return f'add operation does not apply: doc is missing path: "{o["path"]}"'
                doc["imagePullSecrets"].append(o["value"])
            else:       # add of a member replaces it (RFC 6902 4.1)
                doc["imagePullSecrets"] = o["value"]
        return None

    def _sa_patch(self, req: Request) -> Response:
        ns, name = self.SA_PATH.match(req.path).groups()
        ops = self._sa_check(req)
        if ns in self.forbidden:
            return self.error_response(
                403, f'serviceaccounts "{name}" is forbidden: User "system:serviceaccount:bifrost:'
                f'regcred" cannot patch resource "serviceaccounts" in API group "" in the '
                f'namespace "{ns}"', "Forbidden", {"name": name, "kind": "serviceaccounts"})
        with self._lock:
            cur = self.sas.get((ns, name))
            if cur is None:
                return self.error_response(404, f'serviceaccounts "{name}" not found', "NotFound",
                                           {"name": name, "kind": "serviceaccounts"})
            if self.sa_race > 0 and any(o["op"] == "add" for o in ops):
                self.sa_race -= 1       # another writer got there first
                cur.setdefault("imagePullSecrets", []).append({"name": f"raced-{self.sa_race}"})
                cur["metadata"]["resourceVersion"] = self._next_rv()
            doc = copy.deepcopy(cur)
            why = self._jsonpatch(doc, ops)
            if why is not None:
                return self.error_response(422, why, "Invalid")
            if doc != cur:
                doc["metadata"]["resourceVersion"] = self._next_rv()
                self.sas[(ns, name)] = doc
            return Response(200, json.dumps(doc).encode(), content_type="application/json")


# --------------------------------------------------------------------------
# URL credential sources
# --------------------------------------------------------------------------

class SubjectURL(StandIn):
    """An https `credential_source.url`: GET of one exact target answers the
    subject token, as text or as JSON under `field`, and only when every
    header in `headers` came exactly once with its value (as a metadata
    server requires `Metadata: True`)."""
    name = "url-source"

    def __init__(self, cert, token: str, target: str = "/token?audience=sts", fmt: str = "text",
                 field: str = "id_token", headers: dict | None = None, **listen):
        self.token = token
        self.target = target
        self.fmt = fmt
        self.field = field
        self.required_headers = dict(headers or {})
        self.issued = [token]          # a secret: must never show in regcred's output
        super().__init__(cert, **listen)

    @property
    def url(self) -> str:
        return self.base_url + self.target

    def error_response(self, status, message, reason="") -> Response:
        return Response(status, json.dumps({"error": message}).encode())

    def handle(self, req: Request) -> Response:
        if req.method != "GET" or req.target != self.target:
            raise Reject(f"{req.method} {req.target}, want GET {self.target}",
                         Response(404, b"404 page not found\n", content_type="text/plain"))
        if req.body:
            raise Reject("GET with a body", self.error_response(400, "unexpected body"))
        for k, v in self.required_headers.items():
            got = req.header_all(k)
            if got != [v]:
                raise Reject(f"header {k}: {got!r}, want [{v!r}]",
                             self.error_response(400, f"missing or wrong {k} header"))
        if self.fmt == "json":
            body = json.dumps({"token_type": "Bearer", self.field: self.token,
                               "expires_in": 3600}).encode()
            return Response(200, body, content_type="application/json")
        return Response(200, self.token.encode() + b"\n", content_type="text/plain; charset=utf-8")
