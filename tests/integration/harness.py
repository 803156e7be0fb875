"""The test world: stand-ins, files and a runner for the regcred binary.

Shared by the pytest suite (conftest.py) and tests/demo.py.
"""
from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import standins as S

AUDIENCE = ("//iam.googleapis.com/projects/123456/locations/global/"
            "workloadIdentityPools/pool/providers/aks")
SA_EMAIL = "puller@proj.iam.gserviceaccount.com"
NAMESPACE = "bifrost"
SECRET = "ar-pull"
REGISTRY = "europe-docker.pkg.dev"
STEPS = ("config", "subject-token", "sts", "iam", "kube")
# Sanitizer runtimes, passed through to the ASan/UBSan builds when set.
PASS_ENV = ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")


# ELF e_machine of the binaries regcred ships, and the qemu-user that runs
# each on another machine (Debian's qemu-user-static, or qemu-user).
ELF_MACHINES = {0x3e: "x86_64", 0xb7: "aarch64"}
QEMU = {"aarch64": ("qemu-aarch64-static", "qemu-aarch64"),
        "x86_64": ("qemu-x86_64-static", "qemu-x86_64")}


def elf_machine(binary) -> str | None:
    """The machine a binary is built for (ELF header), None if not ELF
    (or not a path: a command found on PATH is this machine's)."""
    try:
        with open(binary, "rb") as f:
            head = f.read(20)
    except OSError:
        return None
    if len(head) < 20 or head[:4] != b"\x7fELF":
        return None
    m = int.from_bytes(head[18:20], "little")
    return ELF_MACHINES.get(m, f"e_machine {m:#x}")


def is_foreign(binary) -> bool:
    m = elf_machine(binary)
    return m is not None and m != os.uname().machine


def command(binary) -> list:
    """The argv prefix that runs `binary` here: the binary itself, or, when
    it is built for another machine (the arm64 release binary on an amd64
    host), the binary under qemu-user. binfmt_misc is not relied on: it is
    often not registered in CI containers. Every test that starts regcred
    builds its argv here (after any namespace wrapper)."""
    if not is_foreign(binary):
        return [str(binary)]
    m = elf_machine(binary)
    for q in QEMU.get(m, ()):
        path = shutil.which(q)
        if path:
            return [path, str(binary)]
    raise AssertionError(f"{binary} is built for {m}: qemu-user is needed to run it "
                         "(apt-get install qemu-user-static)")


def time_scale(binary) -> float:
    """How much longer a run may take: 1 natively; under qemu-user the TLS
    handshakes' big-number arithmetic is emulated (REGCRED_QEMU_TIME_SCALE,
    default 4). Scales the harness's own kill timeouts, never what a test
    asserts about regcred's --timeout."""
    if not is_foreign(binary):
        return 1.0
    return float(os.environ.get("REGCRED_QEMU_TIME_SCALE", "4"))


@dataclass
class Result:
    args: list
    rc: int
    stdout: bytes
    stderr: str
    seconds: float

    def lines(self) -> list:
        return self.stderr.splitlines()

    def __str__(self):
        return (f"rc={self.rc} in {self.seconds:.1f}s\n$ {' '.join(map(str, self.args))}\n"
                f"--- stdout ---\n{self.stdout!r}\n--- stderr ---\n{self.stderr}")

    __repr__ = __str__


class World:
    """STS, IAM and Kubernetes stand-ins plus the local files regcred reads.

    make_sts(cert) / make_iam(cert, sts): build other STS/IAM stand-ins
    (entra.EntraSTS, real host names on 443 in a netns). `others`: more
    stand-ins (Entra, IMDS, URL sources) whose violations, connections and
    issued tokens count too and which close() stops. `run_prefix`: argv
    that run() puts before the binary (netns.NetNS.command())."""

    def __init__(self, pki, directory, google_cert: str = "rsa", kube_cert: str = "kube",
                 make_sts=None, make_iam=None):
        self.pki = pki
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.subject_token = S.fake_jwt()
        self.sa_token = S.fake_jwt(sub="system:serviceaccount:bifrost:regcred")
        self.client_secret = None
        self.extra_secrets: list[str] = []
        self.others: list = []
        self.run_prefix: list = []
        cert = pki.google(google_cert)
        self.sts = (make_sts(cert) if make_sts else
                    S.STS(cert, AUDIENCE, self.subject_token))
        self.iam = (make_iam(cert, self.sts) if make_iam else
                    S.IAM(cert, SA_EMAIL, self.sts))
        self.kube = S.Kube(getattr(pki, kube_cert), self.sa_token)
        self.token_file = self.dir / "token"
        self.token_file.write_text(self.subject_token)
        self.sa_dir = self.dir / "serviceaccount"
        self.sa_dir.mkdir(exist_ok=True)
        (self.sa_dir / "token").write_text(self.sa_token)
        (self.sa_dir / "ca.crt").write_bytes(Path(pki.kube_ca_file).read_bytes())
        (self.sa_dir / "namespace").write_text(NAMESPACE)
        self.config_path = self.dir / "credential-config.json"
        self.write_config()

    # -- files -------------------------------------------------------------
    def config(self, impersonate: bool = True, **over) -> dict:
        """The external_account document; over: key=None removes a key."""
        cfg = {
            "universe_domain": "googleapis.com",
            "type": "external_account",
            "audience": AUDIENCE,
            "subject_token_type": S.JWT_TYPE,
            "token_url": f"{self.sts.base_url}/v1/token",
            "credential_source": {"file": str(self.token_file), "format": {"type": "text"}},
        }
        if impersonate:
            cfg["service_account_impersonation_url"] = self.iam.url()
        for k, v in over.items():
            if v is None:
                cfg.pop(k, None)
            else:
                cfg[k] = v
        return cfg

    def write_config(self, cfg=None, **kw) -> Path:
        if cfg is None:
            cfg = self.config(**kw)
        data = cfg if isinstance(cfg, (str, bytes)) else json.dumps(cfg, indent=2)
        if isinstance(data, str):
            data = data.encode()
        self.config_path.write_bytes(data)
        return self.config_path

    def set_subject_token(self, tok: str, file_content: str | None = None):
        self.subject_token = tok
        self.sts.subject_token = tok
        self.token_file.write_text(tok if file_content is None else file_content)

    def use_client_credentials(self, client_id="regcred-client-1", secret="s3cr3t-client-secret-value"):
        self.client_secret = secret
        self.sts.client_id, self.sts.client_secret = client_id, secret
        self.write_config(client_id=client_id, client_secret=secret)

    # -- running ------------------------------------------------------------
    def args(self, cmd: str = "refresh", registries=(REGISTRY,), secret: str | None = SECRET,
             namespace: str | None = NAMESPACE, ca_file: str | None = "default",
             no_embedded: bool = True, timeout: int | None = 10, kube_api: str | None = "default",
             extra=()) -> list:
        a = [cmd, "--credential-config", str(self.config_path)]
        for r in registries:
            a += ["--registry", r]
        if secret is not None and cmd in ("refresh", "run"):
            a += ["--secret", secret]
        if cmd in ("refresh", "run"):
            for ns in [namespace] if isinstance(namespace, str) else namespace or ():
                a += ["--namespace", ns]
            a += ["--kube-sa-dir", str(self.sa_dir)]
            if kube_api is not None:
                a += ["--kube-api", self.kube.url if kube_api == "default" else kube_api]
        if ca_file is not None:
            a += ["--ca-file", self.sts.cert.root_file if ca_file == "default" else ca_file]
            if no_embedded:
                a.append("--no-embedded-roots")
        if timeout is not None:
            a += ["--timeout", str(timeout)]
        return a + list(extra)

    def known_secrets(self) -> list:
        s = [self.subject_token, self.sa_token] + self.sts.issued + self.iam.issued
        for o in self.others:
            s += list(getattr(o, "issued", []))
        if self.client_secret:
            s.append(self.client_secret)
        return [x for x in s + self.extra_secrets if x]

    def run(self, binary, args, env=None, timeout: float = 30, token_output: bool = False,
            check_violations: bool = True) -> Result:
        e = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
        e.update(env or {})
        timeout = timeout * time_scale(binary)
        t0 = time.monotonic()
        try:
            p = subprocess.run([str(a) for a in self.run_prefix] + command(binary) +
                               [str(a) for a in args], env=e, cwd=self.dir,
                               stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as x:
            raise AssertionError(f"regcred did not finish within {timeout}s: {args}\n"
                                 f"stderr: {(x.stderr or b'').decode(errors='replace')}")
        res = Result([binary] + list(args), p.returncode, p.stdout,
                     p.stderr.decode("utf-8", errors="replace"), time.monotonic() - t0)
        self.check_hygiene(res, token_output, check_violations)
        return res

    def start(self, binary, args, env=None) -> "Running":
        """A long-running `regcred run`, stopped with Running.stop()."""
        e = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
        e.update(env or {})
        return Running(self, [str(a) for a in self.run_prefix] + command(binary) +
                       [str(a) for a in args], e, scale=time_scale(binary))

    def check_hygiene(self, res: Result, token_output: bool = False, check_violations: bool = True):
        assert res.rc >= 0, f"regcred killed by signal {-res.rc}\n{res}"
        for marker in ("AddressSanitizer", "LeakSanitizer", "UndefinedBehaviorSanitizer",
                       "runtime error:"):
            assert marker not in res.stderr, f"sanitizer report\n{res}"
        for tok in self.known_secrets():
            probes = [tok] + ([tok[len(tok) // 2: len(tok) // 2 + 16]] if len(tok) >= 40 else [])
            for p in probes:
                assert p not in res.stderr, f"a token (or a piece of it) is in stderr\n{res}"
                if not token_output:
                    assert p.encode() not in res.stdout, f"a token is in stdout\n{res}"
        if check_violations:
            v = self.violations()
            assert not v, f"the stand-ins rejected regcred's requests: {v}\n{res}"

    def violations(self) -> list:
        v = self.sts.violations + self.iam.violations + self.kube.violations
        for o in self.others:
            v = v + o.violations
        return v

    def network_requests(self) -> int:
        return (self.sts.connections + self.iam.connections + self.kube.connections +
                sum(o.connections for o in self.others))

    def close(self):
        for s in [self.sts, self.iam, self.kube] + self.others:
            s.stop()


class Running:
    """A `regcred run` process; stderr is collected by a thread as it comes."""

    def __init__(self, world: World, argv: list, env: dict, scale: float = 1.0):
        self.world, self.argv, self.scale = world, argv, scale
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(argv, env=env, cwd=world.dir, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._err: list = []
        self._out = b""
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self):
        for line in self.p.stderr:
            self._err.append(line.decode("utf-8", errors="replace"))

    def lines(self) -> list:
        return [l.rstrip("\n") for l in list(self._err)]

    def wait_for(self, pred, timeout: float, what: str):
        timeout = timeout * self.scale      # how long the test waits (qemu: longer)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if pred():
                return
            assert self.p.poll() is None, f"regcred run ended early: {what}\n" + \
                "\n".join(self.lines())
            time.sleep(0.05)
        raise AssertionError(f"not within {timeout}s: {what}\n" + "\n".join(self.lines()))

    def stop(self, sig=signal.SIGTERM, within: float = 1.0) -> Result:
        """Sends sig; the process must end within `within` seconds."""
        t = time.monotonic()
        self.p.send_signal(sig)
        try:
            rc = self.p.wait(timeout=within + 5)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise AssertionError("regcred run ignored the signal\n" + "\n".join(self.lines()))
        took = time.monotonic() - t
        self._out = self.p.stdout.read()
        self._t.join(timeout=5)
        res = Result(self.argv, rc, self._out, "\n".join(self.lines()) + "\n",
                     time.monotonic() - self.t0)
        res.stop_seconds = took
        assert took <= within, f"took {took:.2f}s to stop (want <= {within}s)\n{res}"
        self.world.check_hygiene(res)
        return res

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def step_lines(res: Result, step: str, level: str = "error") -> list:
    pat = re.compile(rf"^regcred: {re.escape(level)} {re.escape(step)}: ")
    return [l for l in res.lines() if pat.match(l)]


def expect_failure(res: Result, rc: int, step: str, *needles: str):
    """Documented exit code, an error line naming the step, and each needle in it."""
    assert res.rc == rc, f"want exit {rc}\n{res}"
    lines = step_lines(res, step)
    assert lines, f"no 'regcred: error {step}: ...' line\n{res}"
    text = "\n".join(lines)
    for n in needles:
        assert n in text, f"{n!r} not in the {step} error line\n{res}"
    assert res.stdout == b"", f"stdout not empty on failure\n{res}"


def decode_dockercfg(secret: dict) -> bytes:
    return base64.b64decode(secret["data"][".dockerconfigjson"], validate=True)
