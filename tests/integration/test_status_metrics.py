"""`regcred status` (the exec probe) on crafted status files, the status
file as status.c writes it, and the /metrics answer through a real
Prometheus text parser (prometheus_client), served by metrics.c from a
poll loop in a small test-only driver (metrics_driver.c, built here).

status exits 0 healthy, 1 unhealthy (one line on stderr saying why), 2
usage; it needs no credential config and touches no network.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

import harness as H

REPO = Path(__file__).resolve().parents[2]
PASS_ENV = ("PATH", "ASAN_OPTIONS", "UBSAN_OPTIONS")


def run(binary, args, env=None, timeout=20):
    e = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
    e.update(env or {})
    p = subprocess.run(H.command(binary) + [str(a) for a in args], env=e,
                       stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout * H.time_scale(binary))
    err = p.stderr.decode("utf-8", errors="replace")
    for marker in ("AddressSanitizer", "UndefinedBehaviorSanitizer", "runtime error:"):
        assert marker not in err, err
    assert p.returncode >= 0, f"killed by signal {-p.returncode}: {err}"
    return p.returncode, p.stdout.decode(), err


def doc(last_success_ago=10, namespaces=(("team-a", 3000, ""),), last_error="",
        now=None):
    now = int(time.time()) if now is None else now
    ls = 0 if last_success_ago is None else now - last_success_ago
    return {
        "secret": "ar-pull", "last_attempt": now, "last_success": ls,
        "expiry": now + 3000, "last_error": last_error, "refresh_ok": 3,
        "refresh_failed": 1, "watch_restarts": 0,
        "namespaces": [{"name": n, "last_success": ls,
                        "expiry": 0 if left is None else now + left,
                        "last_error": err} for n, left, err in namespaces],
    }


def status(regcred, tmp_path, d, *extra, raw=None):
    f = tmp_path / "status.json"
    f.write_bytes(raw if raw is not None else json.dumps(d).encode())
    return run(regcred, ["status", "--status-file", f, *extra])


def unhealthy(res, pattern):
    rc, out, err = res
    assert rc == 1, res
    assert out == "", res
    lines = err.splitlines()
    assert len(lines) == 1, res
    assert lines[0].startswith("regcred: error status: "), res
    assert re.search(pattern, lines[0]), (pattern, res)


def test_healthy(regcred, tmp_path):
    rc, out, err = status(regcred, tmp_path, doc(namespaces=(
        ("team-a", 3000, ""), ("team-b", 700, "kube: 409 conflict"))))
    assert rc == 0, (out, err)
    assert err == ""
    assert re.fullmatch(r"ok: last success 1\d s ago; 2 namespaces, the soonest "
                        r"token expires in (699|700) s\n", out), out


def test_no_success_yet(regcred, tmp_path):
    unhealthy(status(regcred, tmp_path, doc(None, last_error="sts: 400 invalid_grant")),
              r"no successful refresh yet; last error: sts: 400 invalid_grant$")


def test_last_success_too_old(regcred, tmp_path):
    d = doc(4000)
    unhealthy(status(regcred, tmp_path, d),
              r"last success 400[0-2] s ago \(--max-age 3600\)$")
    assert status(regcred, tmp_path, d, "--max-age", "5000")[0] == 0
    f = tmp_path / "status.json"
    rc, _, _ = run(regcred, ["status", "--status-file", f],
                   env={"REGCRED_MAX_AGE": "5000"})
    assert rc == 0


def test_token_expiring(regcred, tmp_path):
    unhealthy(status(regcred, tmp_path, doc(namespaces=(
        ("team-a", 3000, ""), ("team-b", 300, "kube: 403 \"forbidden\"\nsecond line")))),
        r"namespace team-b: token expires in (299|300) s \(needs > 600\); last error: "
        r"kube: 403 \"forbidden\" second line$")
    unhealthy(status(regcred, tmp_path, doc(namespaces=(("team-c", None, ""),))),
              r"namespace team-c: no Secret applied yet$")
    unhealthy(status(regcred, tmp_path, doc(namespaces=(("team-d", -60, ""),))),
              r"namespace team-d: token expired 6[01] s ago$")


def test_full_status_file(regcred, tmp_path):
    """NAMESPACE_MAX (128) namespaces parse (more JSON tokens than the
    old JSON_TOKENS_MAX of 1024)."""
    ns = tuple((f"namespace-{i:03}", 3000 + i, "") for i in range(128))
    rc, out, err = status(regcred, tmp_path, doc(namespaces=ns))
    assert rc == 0, err
    assert "128 namespaces" in out
    unhealthy(status(regcred, tmp_path, doc(namespaces=ns + (("one-more", 3000, ""),))),
              r"129 namespaces \(limit NAMESPACE_MAX = 128\)")


@pytest.mark.parametrize("raw", [b"", b"{", b"[]", b"{\"last_success\":1}",
                                 b"{\"last_success\":1,\"expiry\":1,\"namespaces\":[]}",
                                 b"\xff\xfe", b"{}{}"])
def test_malformed(regcred, tmp_path, raw):
    unhealthy(status(regcred, tmp_path, None, raw=raw), r"status file")


def test_missing_or_unreadable(regcred, tmp_path):
    unhealthy(run(regcred, ["status", "--status-file", tmp_path / "absent.json"]),
              r"status file .*absent.json: No such file")
    unhealthy(run(regcred, ["status", "--status-file", tmp_path]),
              r"not a regular file")


def test_status_file_over_limit(regcred, tmp_path):
    f = tmp_path / "big.json"
    with open(f, "wb") as fh:
        fh.truncate(900_000)
    unhealthy(run(regcred, ["status", "--status-file", f]), r"STATUS_MAX")


@pytest.mark.parametrize("args", [
    ["status"],
    ["status", "--status-file"],
    ["status", "--status-file", "/x", "--max-age", "0"],
    ["status", "--status-file", "/x", "--max-age", "soon"],
    ["status", "--status-file", "/x", "--max-age", "604801"],
    ["status", "--status-file", "/x", "extra"],
    ["status", "--status-file", "/x", "--frobnicate"],
])
def test_status_usage(regcred, args):
    rc, out, err = run(regcred, args)
    assert rc == 2, (args, out, err)
    assert "regcred: error config: " in err


def test_status_needs_no_credential_config(regcred, tmp_path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps(doc()))
    rc, out, err = run(regcred, ["status"], env={"REGCRED_STATUS_FILE": str(f)})
    assert rc == 0, err


@pytest.mark.parametrize("addr", ["localhost:9090", ":9090", "127.0.0.1",
                                  "::1:9090", "[::1]:99999", "127.0.0.1:0",
                                  "[fe80::1%eth0]:9090"])
def test_metrics_addr_config_errors(regcred, tmp_path, addr):
    cfg = tmp_path / "cred.json"
    cfg.write_text("{}")
    rc, out, err = run(regcred, ["refresh", "--credential-config", cfg,
                                 "--registry", "europe-docker.pkg.dev", "--secret", "s",
                                 "--metrics-addr", addr])
    assert rc == 2, err
    assert "regcred: error config: --metrics-addr" in err, err


def test_help_names_status(regcred):
    rc, out, _ = run(regcred, ["--help"])
    assert rc == 0
    for word in ("regcred status", "--status-file", "--max-age", "--metrics-addr"):
        assert word in out


# ---- the driver: status_write and the listener, as run's parent uses them


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    cc = shutil.which("gcc") or shutil.which("cc")
    jsmn = REPO / ".vendor" / "src" / "jsmn"
    if cc is None or not jsmn.is_dir():
        pytest.skip("no C compiler or no .vendor/src/jsmn (run ./build.sh)")
    out = tmp_path_factory.mktemp("driver") / "metrics_driver"
    srcs = [REPO / "tests/integration/metrics_driver.c"] + \
        [REPO / "src" / f"{m}.c" for m in ("metrics", "status", "json", "log", "fmt", "err")]
    subprocess.run([cc, "-std=c11", "-D_DEFAULT_SOURCE", "-O1", "-Wall", "-Wextra",
                    "-Werror", "-iquote", str(REPO / "src"), "-I", str(jsmn), "-o",
                    str(out)] + [str(s) for s in srcs], check=True)
    return out


class Served:
    def __init__(self, driver, path, *args):
        self.p = subprocess.Popen([str(driver), str(path), *map(str, args)],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.port = int(self.p.stdout.readline())

    def get(self, raw: bytes, timeout=5.0) -> bytes:
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(raw)
            chunks = []
            while True:
                b = s.recv(65536)
                if not b:
                    return b"".join(chunks)
                chunks.append(b)

    def close(self):
        self.p.stdin.close()
        assert self.p.wait(timeout=5) == 0


@pytest.fixture
def served(driver, tmp_path):
    made = []

    def start(*args, path=None):
        s = Served(driver, path or tmp_path / "status.json", *args)
        made.append(s)
        return s
    yield start
    for s in made:
        s.close()


def split(resp: bytes):
    head, _, body = resp.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    hdrs = dict(l.split(": ", 1) for l in lines[1:])
    return lines[0], hdrs, body


def test_written_status_file_is_judged(regcred, served, tmp_path):
    """status_write's file, read by the real binary."""
    f = tmp_path / "status.json"
    served("ar-pull", 20, "team-a=3000", "team-b=300=kube: 403 Forbidden", path=f)
    assert not (tmp_path / "status.json.tmp").exists()
    assert f.stat().st_mode & 0o777 == 0o644 & ~_umask()
    d = json.loads(f.read_text())
    assert [n["name"] for n in d["namespaces"]] == ["team-a", "team-b"]
    assert set(d) == {"secret", "last_attempt", "last_success", "expiry", "last_error",
                      "refresh_ok", "refresh_failed", "watch_restarts", "namespaces"}
    unhealthy(run(regcred, ["status", "--status-file", f]),
              r"namespace team-b: token expires in (29\d|300) s \(needs > 600\); "
              r"last error: kube: 403 Forbidden$")
    served("ar-pull", 20, "team-a=3000", "team-b=3000", path=f)
    assert run(regcred, ["status", "--status-file", f])[0] == 0


def _umask():
    m = os.umask(0)
    os.umask(m)
    return m


def test_metrics_parse_with_prometheus_client(served):
    from prometheus_client.parser import text_string_to_metric_families

    s = served("ar-pull", 20, "team-a=3000", 'we"ird\\name\nx=600', "team-c=-1")
    status, hdrs, body = split(s.get(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                     b"Accept: text/plain\r\n\r\n"))
    assert status == "HTTP/1.1 200 OK"
    assert hdrs["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert hdrs["Connection"] == "close"
    assert int(hdrs["Content-Length"]) == len(body)
    fams = {f.name: f for f in text_string_to_metric_families(body.decode())}
    assert set(fams) == {"regcred_token_expiry_timestamp_seconds", "regcred_refresh",
                         "regcred_last_success_timestamp_seconds",
                         "regcred_watch_restarts"}
    assert fams["regcred_refresh"].type == "counter"
    assert fams["regcred_watch_restarts"].type == "counter"
    assert fams["regcred_token_expiry_timestamp_seconds"].type == "gauge"
    exp = {x.labels["namespace"]: (x.labels["secret"], x.value)
           for x in fams["regcred_token_expiry_timestamp_seconds"].samples}
    now = time.time()
    assert set(exp) == {"team-a", 'we"ird\\name\nx', "team-c"}
    assert all(sec == "ar-pull" for sec, _ in exp.values())
    assert abs(exp["team-a"][1] - (now + 3000)) < 30
    assert exp["team-c"][1] == 0
    refresh = {x.labels["result"]: x.value for x in fams["regcred_refresh"].samples}
    assert refresh == {"ok": 3.0, "error": 1.0}
    (ls,) = fams["regcred_last_success_timestamp_seconds"].samples
    assert abs(ls.value - (now - 20)) < 30
    (wr,) = fams["regcred_watch_restarts"].samples
    assert wr.name == "regcred_watch_restarts_total" and wr.value == 2


def test_metrics_other_routes(served):
    s = served("ar-pull", 20, "team-a=3000")
    st, hdrs, body = split(s.get(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert (st, body) == ("HTTP/1.1 200 OK", b"ok\n")
    st, hdrs, body = split(s.get(b"HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert st == "HTTP/1.1 200 OK" and body == b"" and int(hdrs["Content-Length"]) > 500
    assert split(s.get(b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"))[0] == \
        "HTTP/1.1 404 Not Found"
    st, hdrs, _ = split(s.get(b"PUT /metrics HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert st == "HTTP/1.1 405 Method Not Allowed" and hdrs["Allow"] == "GET, HEAD"
    assert split(s.get(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n"))[0] == \
        "HTTP/1.1 400 Bad Request"
    assert split(s.get(b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 5000 + b"\r\n\r\n"))[0] == \
        "HTTP/1.1 400 Bad Request"


def test_metrics_with_urllib(served):
    """What an ordinary HTTP client (and so a scraper) sees."""
    import urllib.request
    import urllib.error
    s = served("ar-pull", 20, "team-a=3000")
    with urllib.request.urlopen(f"http://127.0.0.1:{s.port}/metrics?x=1", timeout=5) as r:
        assert r.status == 200
        assert b"regcred_refresh_total{result=\"ok\"} 3\n" in r.read()
    with pytest.raises(urllib.error.HTTPError) as x:
        urllib.request.urlopen(f"http://127.0.0.1:{s.port}/", timeout=5)
    assert x.value.code == 404


def test_metrics_silent_client_does_not_block(served):
    s = served("ar-pull", 20, "team-a=3000")
    idle = [socket.create_connection(("127.0.0.1", s.port)) for _ in range(2)]
    t0 = time.monotonic()
    assert split(s.get(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))[2] == b"ok\n"
    assert time.monotonic() - t0 < 1.5     # not after the idle ones' 2 s
    for c in idle:
        c.settimeout(5)
        assert c.recv(10) == b""      # closed after METRICS_TIMEOUT_MS
        c.close()
    assert time.monotonic() - t0 < 4.0
