"""A real Kubernetes control plane for the e2e tests: etcd + kube-apiserver.

Built by tests/e2e/build.sh (pinned in controlplane/go.mod). This module
makes the PKI (cluster CA, serving certificate with kube-apiserver's default
SANs, an admin client certificate in O=system:masters, a service-account
signing key), starts etcd and kube-apiserver on 127.0.0.1 with ephemeral
ports and a temporary data directory, waits for /readyz, and always stops
what it started. It also gives the harness an admin kubectl and a small
admin HTTPS client (for watches and raw reads).
"""
from __future__ import annotations

import ctypes
import datetime
import http.client
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).resolve().parent
KUBE_DNS = ["kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local"]
KUBE_IPS = ["10.0.0.1", "127.0.0.1"]
SERVICE_CIDR = "10.0.0.0/24"
ISSUER = "https://kubernetes.default.svc.cluster.local"


def _kubectl() -> str:
    """KUBECTL from the environment, else the one tests/e2e/build.sh built
    from the same Kubernetes release as kube-apiserver (inside the
    supported version skew), else the machine's."""
    if os.environ.get("KUBECTL"):
        return os.environ["KUBECTL"]
    p = subprocess.run(["sh", str(HERE / "build.sh"), "--check"], capture_output=True, text=True)
    paths = dict(l.split("=", 1) for l in p.stdout.split() if "=" in l)
    if p.returncode == 0 and os.access(paths.get("KUBECTL", ""), os.X_OK):
        return paths["KUBECTL"]
    return shutil.which("kubectl") or "/usr/bin/kubectl"


KUBECTL = _kubectl()


class ControlPlaneMissing(Exception):
    pass


def control_plane_binaries() -> tuple[str, str]:
    """(kube-apiserver, etcd): from E2E_KUBE_APISERVER/E2E_ETCD, else the cache
    that tests/e2e/build.sh fills. Raises ControlPlaneMissing (tests fail)."""
    api, etcd = os.environ.get("E2E_KUBE_APISERVER"), os.environ.get("E2E_ETCD")
    if not (api and etcd):
        p = subprocess.run(["sh", str(HERE / "build.sh"), "--check"], capture_output=True, text=True)
        if p.returncode != 0:
            raise ControlPlaneMissing(
                f"control plane binaries not built: run tests/e2e/build.sh first\n{p.stderr}")
        paths = dict(l.split("=", 1) for l in p.stdout.split() if "=" in l)
        api, etcd = api or paths["KUBE_APISERVER"], etcd or paths["ETCD"]
    for b in (api, etcd):
        if not os.access(b, os.X_OK):
            raise ControlPlaneMissing(f"{b} is not an executable file")
    return api, etcd


# --------------------------------------------------------------------------
# PKI
# --------------------------------------------------------------------------

def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _write(path: Path, data: bytes, mode=0o644) -> str:
    path.write_bytes(data)
    os.chmod(path, mode)
    return str(path)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert(subject: x509.Name, key, issuer_name: x509.Name, issuer_key, *, ca: bool,
          eku=None, sans=None) -> x509.Certificate:
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(_now() - datetime.timedelta(hours=1))
         .not_valid_after(_now() + datetime.timedelta(days=30 if not ca else 3650))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(
             digital_signature=True, content_commitment=False,
             key_encipherment=isinstance(key, rsa.RSAPrivateKey) and not ca,
             data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
             encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if not ca:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer_key.public_key()), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


@dataclass
class ClusterPKI:
    dir: Path
    ca_file: str             # cluster CA (serving and client certificates)
    serving_cert: str
    serving_key: str
    admin_cert: str
    admin_key: str
    sa_key: str              # service-account signing key (RSA, RS256 tokens)
    sa_pub: str
    other_ca_file: str       # a CA that signed nothing the cluster uses


def make_cluster_pki(d: Path) -> ClusterPKI:
    d.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    ca = _cert(ca_name, ca_key, ca_name, ca_key, ca=True)
    srv_key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName(n) for n in KUBE_DNS] + \
        [x509.IPAddress(ipaddress.ip_address(i)) for i in KUBE_IPS]
    srv = _cert(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kube-apiserver")]), srv_key,
                ca_name, ca_key, ca=False, eku=[ExtendedKeyUsageOID.SERVER_AUTH], sans=sans)
    adm_key = ec.generate_private_key(ec.SECP256R1())
    adm = _cert(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "system:masters"),
                           x509.NameAttribute(NameOID.COMMON_NAME, "e2e-admin")]),
                adm_key, ca_name, ca_key, ca=False, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    other_key = ec.generate_private_key(ec.SECP256R1())
    other_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    other = _cert(other_name, other_key, other_name, other_key, ca=True)
    sa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)
    return ClusterPKI(
        dir=d,
        ca_file=_write(d / "ca.crt", pem(ca)),
        serving_cert=_write(d / "apiserver.crt", pem(srv)),
        serving_key=_write(d / "apiserver.key", _key_pem(srv_key), 0o600),
        admin_cert=_write(d / "admin.crt", pem(adm)),
        admin_key=_write(d / "admin.key", _key_pem(adm_key), 0o600),
        sa_key=_write(d / "sa.key", _key_pem(sa), 0o600),
        sa_pub=_write(d / "sa.pub", sa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)),
        other_ca_file=_write(d / "other-ca.crt", pem(other)),
    )


# --------------------------------------------------------------------------
# Processes
# --------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    """In the child: SIGTERM when the test process dies, even by SIGKILL."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)    # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Proc:
    """A child process in its own process group, output to a log file."""

    def __init__(self, name: str, argv: list, log: Path):
        self.name, self.argv, self.log = name, argv, log
        self._f = open(log, "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self._f,
                                  stderr=subprocess.STDOUT, start_new_session=True,
                                  preexec_fn=_die_with_parent)

    def alive(self) -> bool:
        return self.p.poll() is None

    def tail(self, n: int = 80) -> str:
        try:
            lines = self.log.read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(lines[-n:])

    def stop(self, grace: float = 10):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.p.wait()
        self._f.close()


class Cluster:
    """etcd + kube-apiserver on 127.0.0.1; use as a context manager."""

    def __init__(self, workdir: Path, apiserver_bin: str, etcd_bin: str):
        self.dir = Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.apiserver_bin, self.etcd_bin = apiserver_bin, etcd_bin
        self.pki = make_cluster_pki(self.dir / "pki")
        self.procs: list[Proc] = []
        self.port = 0
        self.kubeconfig = str(self.dir / "kubeconfig")

    # -- lifecycle ----------------------------------------------------------
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, attempts: int = 3):
        etcd_url = self._start_etcd(attempts)
        for i in range(attempts):
            self.port = free_port()
            api = Proc("kube-apiserver", self._apiserver_argv(etcd_url), self.dir / "kube-apiserver.log")
            self.procs.append(api)
            if self._wait_ready(api, 120):
                break
            if "address already in use" not in api.tail(200) or i == attempts - 1:
                raise RuntimeError(f"kube-apiserver did not become ready\n{self.logs()}")
            api.stop()
            self.procs.remove(api)
        self._write_kubeconfig()

    def _start_etcd(self, attempts: int) -> str:
        for i in range(attempts):
            cport, pport = free_port(), free_port()
            curl, purl = f"http://127.0.0.1:{cport}", f"http://127.0.0.1:{pport}"
            data = self.dir / f"etcd-data-{i}"
            etcd = Proc("etcd", [
                self.etcd_bin, "--name", "e2e", "--data-dir", str(data),
                "--listen-client-urls", curl, "--advertise-client-urls", curl,
                "--listen-peer-urls", purl, "--initial-advertise-peer-urls", purl,
                "--initial-cluster", f"e2e={purl}", "--initial-cluster-state", "new",
                "--listen-metrics-urls", f"http://127.0.0.1:{free_port()}",
                "--unsafe-no-fsync", "--log-level", "warn",
            ], self.dir / "etcd.log")
            self.procs.append(etcd)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and etcd.alive():
                try:
                    c = http.client.HTTPConnection("127.0.0.1", cport, timeout=2)
                    c.request("GET", "/health")
                    r = c.getresponse()
                    if r.status == 200 and json.loads(r.read()).get("health") == "true":
                        return curl
                except (OSError, ValueError):
                    pass
                time.sleep(0.1)
            tail = etcd.tail(200)
            etcd.stop()
            self.procs.remove(etcd)
            if "address already in use" not in tail or i == attempts - 1:
                raise RuntimeError(f"etcd did not become healthy\n{tail}")
        raise AssertionError("unreachable")

    def _apiserver_argv(self, etcd_url: str) -> list:
        p = self.pki
        return [
            self.apiserver_bin,
            "--etcd-servers", etcd_url,
            "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
            "--secure-port", str(self.port),
            "--cert-dir", str(self.dir / "cert-dir"),
            "--tls-cert-file", p.serving_cert, "--tls-private-key-file", p.serving_key,
            "--client-ca-file", p.ca_file,
            "--authorization-mode", "RBAC",
            # on by default since 1.30 (GA); named so that the policy of
            # deploy/components/admission-policy is enforced whatever the
            # defaults become (this adds to them, it does not replace them)
            "--enable-admission-plugins", "ValidatingAdmissionPolicy",
            "--service-account-issuer", ISSUER,
            "--service-account-key-file", p.sa_pub,
            "--service-account-signing-key-file", p.sa_key,
            "--service-cluster-ip-range", SERVICE_CIDR,
            # no --api-audiences: the default (the issuer) only
            "--profiling=false",
            # the endpoints of Service kubernetes cannot be a loopback address
            "--endpoint-reconciler-type", "none",
            "--v", "1",
        ]

    def _wait_ready(self, api: Proc, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and api.alive():
            try:
                st, body = self.request("GET", "/readyz", timeout=5)
                if st == 200:
                    return True
            except (OSError, ssl.SSLError, http.client.HTTPException):
                pass
            time.sleep(0.25)
        return False

    def stop(self):
        for p in reversed(self.procs):
            p.stop()
        self.procs.clear()

    def logs(self, n: int = 120) -> str:
        return "\n".join(f"===== {p.name} ({p.log}), last {n} lines =====\n{p.tail(n)}"
                         for p in self.procs)

    # -- admin access --------------------------------------------------------
    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=self.pki.ca_file)
        ctx.load_cert_chain(self.pki.admin_cert, self.pki.admin_key)
        return ctx

    def connection(self, timeout: float = 30) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ssl_context(),
                                           timeout=timeout)

    def request(self, method: str, path: str, body=None, headers=None, timeout: float = 30):
        """(status, parsed JSON or text) as the admin."""
        c = self.connection(timeout)
        try:
            data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
            h = {"Accept": "application/json"}
            if data is not None:
                h["Content-Type"] = "application/json"
            h.update(headers or {})
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            raw = r.read()
            try:
                return r.status, json.loads(raw)
            except ValueError:
                return r.status, raw.decode(errors="replace")
        finally:
            c.close()

    def request_as_token(self, token: str, method: str, path: str, timeout: float = 30,
                         body: dict | None = None, content_type: str = "application/json"):
        """(status, body) for a request with a bearer token and no client cert
        (body: a JSON object sent as content_type)."""
        ctx = ssl.create_default_context(cafile=self.pki.ca_file)
        c = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=timeout)
        h = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = content_type
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            c.close()

    def apply_as_token(self, token: str, namespace: str, obj: dict, manager: str = "e2e"):
        """Server-side apply of obj (a Secret) as the token's user, the way
        regcred writes: (status, parsed answer)."""
        path = (f"/api/v1/namespaces/{namespace}/secrets/{obj['metadata']['name']}"
                f"?fieldManager={manager}&force=true")
        st, text = self.request_as_token(token, "PATCH", path, body=obj,
                                         content_type="application/apply-patch+yaml")
        return st, json.loads(text)

    def post_as_token(self, token: str, namespace: str, obj: dict):
        """A plain create (POST to the collection) as the token's user."""
        st, text = self.request_as_token(token, "POST", f"/api/v1/namespaces/{namespace}/secrets",
                                         body=obj)
        return st, json.loads(text)

    def _write_kubeconfig(self):
        cfg = {
            "apiVersion": "v1", "kind": "Config", "current-context": "e2e",
            "clusters": [{"name": "e2e", "cluster": {"server": self.url,
                                                      "certificate-authority": self.pki.ca_file}}],
            "users": [{"name": "admin", "user": {"client-certificate": self.pki.admin_cert,
                                                  "client-key": self.pki.admin_key}}],
            "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
        }
        Path(self.kubeconfig).write_text(json.dumps(cfg, indent=2))

    def kubectl(self, *args, input: str | bytes | None = None, check: bool = True,
                timeout: float = 60) -> subprocess.CompletedProcess:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(self.dir),
               "KUBECONFIG": self.kubeconfig, "KUBECACHEDIR": str(self.dir / "kubectl-cache")}
        if isinstance(input, str):
            input = input.encode()
        p = subprocess.run([KUBECTL, *map(str, args)], input=input, capture_output=True,
                           env=env, timeout=timeout)
        p.stdout_text = p.stdout.decode(errors="replace")
        p.stderr_text = p.stderr.decode(errors="replace")
        if check and p.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(map(str, args))} failed "
                                 f"(rc {p.returncode}):\n{p.stderr_text}")
        return p

    def kubectl_json(self, *args):
        return json.loads(self.kubectl(*args, "-o", "json").stdout)
