"""Failures of the identity steps (token file, STS, IAM): exit 3, Secret untouched."""
from __future__ import annotations

import json

import pytest

import standins as S
from harness import AUDIENCE, NAMESPACE, SECRET, expect_failure


def no_kube(world):
    assert world.kube.connections == 0, world.kube.methods()


def test_sts_invalid_grant(regcred, world, seeded):
    world.sts.inject(S.invalid_grant(AUDIENCE), times=None)
    res = world.run(regcred, world.args())
    expect_failure(res, 3, "sts", world.sts.hostport, "HTTP 400",
                   "does not match the expected audience")
    assert len(world.sts.requests) == 1, "a 400 must not be retried"
    assert world.iam.connections == 0
    no_kube(world)


def test_sts_persistent_500_gives_up_within_timeout(regcred, world, seeded):
    world.sts.inject(S.status_fault(500, {"error": "server_error",
                                          "error_description": "Internal error xyzzy"}), times=None)
    res = world.run(regcred, world.args(timeout=5), timeout=30)
    expect_failure(res, 3, "sts", world.sts.hostport, "HTTP 500")
    assert len(world.sts.requests) >= 2, "5xx must be retried"
    assert res.seconds < 5 + 3, f"took {res.seconds:.1f}s with --timeout 5"
    no_kube(world)


def test_sts_503_retry_after_then_success(regcred, world):
    world.sts.inject(S.retry503(), times=1)
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert len(world.sts.requests) == 2
    gap = world.sts.requests[1].time - world.sts.requests[0].time
    assert gap >= 0.9, f"Retry-After: 1 not honoured (retried after {gap:.2f}s)"
    assert world.kube.methods() == ["PATCH"]


def test_sts_429_then_success(regcred, world):
    world.sts.inject(S.status_fault(429, {"error": "rate_limit_exceeded",
                                          "error_description": "Quota exceeded"},
                                    headers=[("Retry-After", "1")]), times=1)
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert len(world.sts.requests) == 2


def test_sts_connection_reset_then_success(regcred, world):
    world.sts.inject(S.RESET, times=1)
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert world.sts.connections == 2 and len(world.sts.requests) == 1


def test_iam_503_then_success(regcred, world):
    world.iam.inject(S.retry503(), times=2)
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert len(world.iam.requests) == 3
    assert len(world.sts.requests) == 1


def test_iam_permission_denied(regcred, world, seeded):
    world.iam.inject(S.permission_denied(), times=None)
    res = world.run(regcred, world.args())
    expect_failure(res, 3, "iam", world.iam.hostport, "HTTP 403",
                   "Permission 'iam.serviceAccounts.getAccessToken' denied on resource")
    assert len(world.iam.requests) == 1
    no_kube(world)


def test_iam_unauthenticated(regcred, world, seeded):
    world.iam.inject(S.status_fault(401, {"error": {
        "code": 401, "message": "Request had invalid authentication credentials.",
        "status": "UNAUTHENTICATED"}}), times=None)
    res = world.run(regcred, world.args())
    expect_failure(res, 3, "iam", world.iam.hostport, "HTTP 401",
                   "Request had invalid authentication credentials.")
    no_kube(world)


@pytest.mark.parametrize("fault", [S.GARBAGE, S.OVERSIZED, S.OVERSIZED_CHUNKED],
                         ids=["garbage", "oversized", "oversized-chunked"])
def test_sts_bad_body(regcred, world, seeded, fault):
    world.sts.inject(fault, times=None)
    res = world.run(regcred, world.args(timeout=5))
    expect_failure(res, 3, "sts", world.sts.hostport)
    no_kube(world)


def test_sts_truncated_body_persistent(regcred, world, seeded):
    world.sts.inject(S.TRUNCATED, times=None)
    res = world.run(regcred, world.args(timeout=4))
    expect_failure(res, 3, "sts", world.sts.hostport)
    no_kube(world)


@pytest.mark.parametrize("fault", [S.GARBAGE, S.OVERSIZED],
                         ids=["garbage", "oversized"])
def test_iam_bad_body(regcred, world, seeded, fault):
    world.iam.inject(fault, times=None)
    res = world.run(regcred, world.args(timeout=5))
    expect_failure(res, 3, "iam", world.iam.hostport)
    no_kube(world)


def test_sts_error_body_is_not_json(regcred, world, seeded):
    world.sts.inject(S.status_fault(404, "<html><p>404. That's an error.</p></html>",
                                    content_type="text/html"), times=None)
    res = world.run(regcred, world.args())
    expect_failure(res, 3, "sts", world.sts.hostport, "HTTP 404")


@pytest.mark.parametrize("fault", [S.STALL_TCP, S.STALL_TLS], ids=["tcp", "tls"])
def test_sts_stall_hits_timeout(regcred, world, seeded, fault):
    world.sts.inject(fault, times=None)
    res = world.run(regcred, world.args(timeout=3), timeout=20)
    expect_failure(res, 3, "sts", world.sts.hostport)
    assert res.seconds < 3 + 3, f"took {res.seconds:.1f}s with --timeout 3"
    no_kube(world)


def test_iam_stall_hits_timeout(regcred, world, seeded):
    world.iam.inject(S.STALL_TLS, times=None)
    res = world.run(regcred, world.args(timeout=3), timeout=20)
    expect_failure(res, 3, "iam", world.iam.hostport)
    no_kube(world)


def test_connection_refused(regcred, world, seeded):
    port = world.sts.port
    world.sts.stop()
    res = world.run(regcred, world.args(timeout=3), timeout=20)
    expect_failure(res, 3, "sts", f"localhost:{port}")
    no_kube(world)


def test_missing_token_file(regcred, world, seeded):
    world.token_file.unlink()
    res = world.run(regcred, world.args())
    assert res.rc == 3, res
    assert any(l.startswith("regcred: error subject-token: ") or
               l.startswith("regcred: error config: ") for l in res.lines()), res
    assert str(world.token_file) in res.stderr, res
    assert world.network_requests() == 0


def test_empty_token_file(regcred, world, seeded):
    world.token_file.write_text("")
    res = world.run(regcred, world.args())
    assert res.rc == 3, res
    assert any(l.startswith("regcred: error subject-token: ") or
               l.startswith("regcred: error config: ") for l in res.lines()), res
    assert world.network_requests() == 0


def test_json_token_file_without_the_field(regcred, world, seeded):
    world.token_file.write_text('{"other": "x"}')
    world.write_config(credential_source={
        "file": str(world.token_file),
        "format": {"type": "json", "subject_token_field_name": "id_token"}})
    res = world.run(regcred, world.args())
    assert res.rc in (2, 3), res
    assert world.network_requests() == 0



@pytest.fixture
def silent_dns(tmp_path):
    """A private mount namespace whose /etc/resolv.conf names a DNS server
    that reads queries and never answers: musl's resolver has no deadline of
    its own, so only regcred's watchdog can end the run. Yields the command
    prefix that runs a program inside it."""
    import os
    import shutil
    import socket
    import threading
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a private /etc/resolv.conf")
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(("127.0.0.9", 53))     # all of 127/8 is loopback on Linux
    srv.settimeout(0.2)
    stop = threading.Event()

    def swallow():
        while not stop.is_set():
            try:
                srv.recvfrom(4096)
            except OSError:
                pass
    threading.Thread(target=swallow, daemon=True).start()
    conf = tmp_path / "resolv.conf"
    conf.write_text("nameserver 127.0.0.9\noptions timeout:30 attempts:1\n")
    yield ["unshare", "--mount", "sh", "-c",
           f'mount --bind "{conf}" /etc/resolv.conf && exec "$0" "$@"']
    stop.set()
    srv.close()


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_watchdog_ends_a_stuck_resolver(regcred, world, seeded, silent_dns, fmt):
    world.write_config(token_url="https://sts.stall.invalid/v1/token")
    args = world.args(timeout=2, extra=["--log-format", fmt])
    world.run_prefix = silent_dns
    res = world.run(regcred, args, timeout=30)
    assert res.rc == 3, res
    assert "--timeout passed" in res.stderr, res
    assert res.seconds < 2 + 5 + 3, f"took {res.seconds:.1f}s"
    if fmt == "json":
        line = [l for l in res.stderr.splitlines() if "--timeout passed" in l][0]
        assert json.loads(line)["step"] == "sts"
    else:
        assert "regcred: error sts: --timeout passed" in res.stderr
    assert world.sts.connections == 0
    no_kube(world)
