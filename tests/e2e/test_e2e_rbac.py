"""Least privilege with the shipped Role (deploy/base/role.yaml)."""
from __future__ import annotations

import time

from harness import expect_failure


def can_i(cluster, user: str, ns: str, verb: str, resource: str) -> bool:
    p = cluster.kubectl("auth", "can-i", verb, resource, "-n", ns, "--as", user, check=False)
    out = p.stdout_text.strip()
    assert out in ("yes", "no"), p.stderr_text
    return out == "yes"


def wait_can_i(cluster, user, ns, verb, resource, want: bool, timeout: float = 20):
    deadline = time.monotonic() + timeout
    while can_i(cluster, user, ns, verb, resource) != want:
        assert time.monotonic() < deadline, f"can-i {verb} {resource} never became {want}"
        time.sleep(0.2)


def test_shipped_role_is_enough_and_no_more(workload, cluster, deployment):
    w = workload
    user = f"system:serviceaccount:{w.ns}:{deployment.service_account}"
    role = cluster.kubectl_json("get", "role", "regcred", "-n", w.ns)
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [w.secret], "verbs": ["patch"]},
    ]
    res = w.run()
    assert res.rc == 0, res
    res = w.run()                      # the second apply is a patch of the existing Secret
    assert res.rc == 0, res
    assert can_i(cluster, user, w.ns, "create", "secrets")
    assert can_i(cluster, user, w.ns, "patch", f"secrets/{w.secret}")
    for verb in ("get", "list", "watch", "delete", "update", "deletecollection"):
        assert not can_i(cluster, user, w.ns, verb, "secrets"), verb
        assert not can_i(cluster, user, w.ns, verb, f"secrets/{w.secret}"), verb
    assert not can_i(cluster, user, w.ns, "patch", "secrets/some-other-secret")
    assert not can_i(cluster, user, w.ns, "patch", "secrets")
    assert not can_i(cluster, user, "default", "create", "secrets")
    assert not can_i(cluster, user, "default", "patch", f"secrets/{w.secret}")
    for verb in ("get", "list", "create", "patch", "delete"):
        assert not can_i(cluster, user, w.ns, verb, "configmaps"), verb
        assert not can_i(cluster, user, w.ns, verb, "serviceaccounts"), verb


def test_without_create_the_first_refresh_fails_naming_it(workload, cluster, deployment):
    w = workload
    user = f"system:serviceaccount:{w.ns}:{deployment.service_account}"
    role = cluster.kubectl_json("get", "role", "regcred", "-n", w.ns)
    assert role["rules"][0]["verbs"] == ["create"]
    try:
        cluster.kubectl("patch", "role", "regcred", "-n", w.ns, "--type", "json",
                        "-p", '[{"op": "remove", "path": "/rules/0"}]')
        wait_can_i(cluster, user, w.ns, "create", "secrets", False)
        res = w.run()
        expect_failure(res, 4, "kube", "HTTP 403", f'User "{user}"',
                       'cannot create resource "secrets"')
        assert w.get_secret() is None
    finally:
        cluster.kubectl("apply", "-k", str(deployment.overlay))
        wait_can_i(cluster, user, w.ns, "create", "secrets", True)
    res = w.run()
    assert res.rc == 0, res
