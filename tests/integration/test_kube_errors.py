"""Failures of the Kubernetes step: exit 4, Status message shown, Secret untouched."""
from __future__ import annotations

import pytest

import standins as S
from harness import NAMESPACE, SECRET, expect_failure


CASES = {
    "401": (S.kube_unauthorized, "HTTP 401", "Unauthorized"),
    "403": (lambda: S.kube_forbidden(NAMESPACE, SECRET), "HTTP 403",
            'cannot patch resource "secrets" in API group "" in the namespace "bifrost"'),
    "409": (lambda: S.kube_conflict(SECRET), "HTTP 409",
            "Operation cannot be fulfilled on secrets"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_api_error_is_final(regcred, world, seeded, case):
    make, status, msg = CASES[case]
    world.kube.inject(make(), times=None)
    res = world.run(regcred, world.args())
    expect_failure(res, 4, "kube", world.kube.hostport, status, msg)
    assert world.kube.methods() == ["PATCH"], "4xx must not be retried"


def test_api_500_retried_until_timeout(regcred, world, seeded):
    world.kube.inject(S.kube_internal(), times=None)
    res = world.run(regcred, world.args(timeout=4), timeout=30)
    expect_failure(res, 4, "kube", world.kube.hostport, "HTTP 500",
                   "Internal error occurred: etcdserver: request timed out")
    assert len(world.kube.requests) >= 2


def test_api_500_once_then_success(regcred, world):
    world.kube.inject(S.kube_internal(), times=1)
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert world.kube.methods() == ["PATCH", "PATCH"]


def test_secret_of_other_type_is_left_alone(regcred, world):
    world.kube.seed(NAMESPACE, SECRET, type_="Opaque", data={"password": "hunter2-opaque"})
    snap = world.kube.snapshot(NAMESPACE, SECRET)
    res = world.run(regcred, world.args())
    expect_failure(res, 4, "kube", "HTTP 422", "field is immutable")
    assert world.kube.snapshot(NAMESPACE, SECRET) == snap
    assert world.kube.methods() == ["PATCH"]


def test_namespace_not_found(regcred, world):
    res = world.run(regcred, world.args(namespace="nowhere"))
    expect_failure(res, 4, "kube", "HTTP 404", "nowhere", "not found")


def test_api_stall_hits_timeout(regcred, world, seeded):
    world.kube.inject(S.STALL_TLS, times=None)
    res = world.run(regcred, world.args(timeout=3), timeout=20)
    expect_failure(res, 4, "kube", world.kube.hostport)


def test_api_garbage_answer(regcred, world, seeded):
    world.kube.inject(S.status_fault(403, "<html>forbidden by a proxy</html>",
                                     content_type="text/html"), times=None)
    res = world.run(regcred, world.args())
    expect_failure(res, 4, "kube", "HTTP 403")


def test_missing_sa_token(regcred, world, seeded):
    (world.sa_dir / "token").unlink()
    res = world.run(regcred, world.args())
    assert res.rc in (2, 4), res
    assert world.network_requests() == 0
    assert not world.sts.requests
