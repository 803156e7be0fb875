"""Many namespaces over one kept-alive connection, and the Secret kept in
ServiceAccounts' imagePullSecrets (JSON Patch: foreign entries stay)."""
from __future__ import annotations

import json

import standins as S
from harness import NAMESPACE, SECRET, expect_failure, step_lines


def _ns(n):
    return [f"team-{i:03d}" for i in range(n)]


def _kube_tls_connections(world):
    return world.kube.connections


def test_ten_namespaces_one_connection_one_exchange(regcred, world):
    names = _ns(10)
    world.kube.namespaces |= set(names)
    res = world.run(regcred, world.args(namespace=names))
    assert res.rc == 0, res
    for ns in names:
        assert world.kube.get(ns, SECRET) is not None, ns
    assert len(world.sts.requests) == 1 and len(world.iam.requests) == 1
    assert world.kube.methods() == ["PATCH"] * 10
    assert _kube_tls_connections(world) == 1, "one TLS handshake however many namespaces"
    for r in world.kube.requests:
        assert r.header("Connection") is None, "keep-alive: no Connection: close"
    world.check_hygiene(res)


def test_one_forbidden_namespace_does_not_stop_the_others(regcred, world):
    world.kube.namespaces |= {"team-a", "team-b", "team-c"}
    world.kube.forbidden = {"team-b"}
    res = world.run(regcred, world.args(namespace=["team-a", "team-b", "team-c"]))
    expect_failure(res, 4, "kube", "1 of 3 namespaces failed", "team-b")
    assert world.kube.get("team-a", SECRET) is not None
    assert world.kube.get("team-c", SECRET) is not None
    assert world.kube.get("team-b", SECRET) is None
    errs = step_lines(res, "kube")
    assert any("HTTP 403" in l and "/namespaces/team-b/secrets/" in l and
               "cannot patch" in l for l in errs), res
    assert _kube_tls_connections(world) == 1, "a 403 keeps the connection"
    assert len(world.sts.requests) == 1


def test_every_failure_is_named(regcred, world):
    world.kube.namespaces |= {"team-a"}
    world.kube.forbidden = {"team-a"}
    res = world.run(regcred, world.args(namespace=["team-a", "nowhere"]))
    expect_failure(res, 4, "kube", "2 of 2 namespaces failed", "team-a, nowhere")


def test_namespace_list_from_environment(regcred, world):
    world.kube.namespaces |= {"team-a", "team-b"}
    res = world.run(regcred, world.args(namespace=None),
                    env={"REGCRED_NAMESPACE": " team-a, team-b "})
    assert res.rc == 0, res
    assert world.kube.get("team-a", SECRET) and world.kube.get("team-b", SECRET)
    assert world.kube.get(NAMESPACE, SECRET) is None, "the sa dir's namespace is not added"


def test_flag_wins_over_environment_list(regcred, world):
    res = world.run(regcred, world.args(namespace=[NAMESPACE]),
                    env={"REGCRED_NAMESPACE": "team-a,team-b"})
    assert res.rc == 0, res
    assert world.kube.methods() == ["PATCH"]


def test_duplicate_and_invalid_namespaces_refused(regcred, world):
    res = world.run(regcred, world.args(namespace=["team-a", "team-a"]))
    expect_failure(res, 2, "config", '"team-a" given twice')
    res = world.run(regcred, world.args(namespace=["Team_A"]))
    expect_failure(res, 2, "config", "not a valid namespace")
    res = world.run(regcred, world.args(namespace=None),
                    env={"REGCRED_NAMESPACE": "a,,b"})
    expect_failure(res, 2, "config", "REGCRED_NAMESPACE")
    assert world.network_requests() == 0


def test_server_closing_the_connection_gets_a_new_one(regcred, world):
    names = _ns(3)
    world.kube.namespaces |= set(names)
    world.kube.inject(S.status_fault(200, {"kind": "PartialObjectMetadata",
                                           "apiVersion": "meta.k8s.io/v1", "metadata": {}},
                                     headers=[("Connection", "close")], chunked=False), times=1)
    res = world.run(regcred, world.args(namespace=names))
    assert res.rc == 0, res
    assert _kube_tls_connections(world) == 2, "Connection: close is honoured"


# ---- ServiceAccounts ----------------------------------------------------------

def test_service_account_entry_added_foreign_entries_kept(regcred, world):
    world.kube.seed_sa(NAMESPACE, "default", pull=["zeta-pull", "alpha-pull"])
    res = world.run(regcred, world.args(extra=["--service-account", "default"]))
    assert res.rc == 0, res
    sa = world.kube.sa(NAMESPACE, "default")
    assert sa["imagePullSecrets"] == [{"name": "zeta-pull"}, {"name": "alpha-pull"},
                                      {"name": SECRET}], "appended, others kept in order"
    assert any("added ar-pull to the imagePullSecrets" in l for l in res.lines()), res
    rv = sa["metadata"]["resourceVersion"]
    # again: present, so only the read (a test-only patch) and no change
    n = len(world.kube.requests)
    res = world.run(regcred, world.args(extra=["--service-account", "default"]))
    assert res.rc == 0, res
    assert world.kube.sa(NAMESPACE, "default")["metadata"]["resourceVersion"] == rv
    sa_reqs = [r for r in world.kube.requests[n:] if "/serviceaccounts/" in r.path]
    assert len(sa_reqs) == 1
    assert json.loads(sa_reqs[0].body) == [{"op": "test", "path": "/metadata/name",
                                            "value": "default"}]
    assert not any("added" in l for l in res.lines())
    world.check_hygiene(res)


def test_service_account_without_list_gets_one(regcred, world):
    world.kube.seed_sa(NAMESPACE, "builder")
    res = world.run(regcred, world.args(extra=["--service-account", "builder"]))
    assert res.rc == 0, res
    assert world.kube.sa(NAMESPACE, "builder")["imagePullSecrets"] == [{"name": SECRET}]


def test_service_account_race_retried_keeps_the_other_writer(regcred, world):
    world.kube.seed_sa(NAMESPACE, "default", pull=["other"])
    world.kube.sa_race = 1
    res = world.run(regcred, world.args(extra=["--service-account", "default"]))
    assert res.rc == 0, res
    names = [e["name"] for e in world.kube.sa(NAMESPACE, "default")["imagePullSecrets"]]
    assert names == ["other", "raced-0", SECRET]


def test_service_account_always_raced_fails(regcred, world):
    world.kube.seed_sa(NAMESPACE, "default", pull=["other"])
    world.kube.sa_race = 10
    res = world.run(regcred, world.args(extra=["--service-account", "default"]))
    expect_failure(res, 4, "kube", "3 attempts", "HTTP 422", "test failed")
    assert world.kube.get(NAMESPACE, SECRET) is not None, "the Secret itself was applied"


def test_service_account_in_every_namespace(regcred, world):
    world.kube.namespaces |= {"team-a", "team-b"}
    for ns in ("team-a", "team-b"):
        world.kube.seed_sa(ns, "default", pull=["x"])
        world.kube.seed_sa(ns, "ci", pull=[])
    res = world.run(regcred, world.args(namespace=["team-a", "team-b"], extra=[
        "--service-account", "default", "--service-account", "ci"]))
    assert res.rc == 0, res
    for ns in ("team-a", "team-b"):
        assert world.kube.sa(ns, "default")["imagePullSecrets"] == [{"name": "x"}, {"name": SECRET}]
        assert world.kube.sa(ns, "ci")["imagePullSecrets"] == [{"name": SECRET}]
    assert _kube_tls_connections(world) == 1


def test_missing_service_account_named(regcred, world):
    res = world.run(regcred, world.args(extra=["--service-account", "ghost"]))
    expect_failure(res, 4, "kube", "HTTP 404", "/serviceaccounts/ghost",
                   "1 of 1 namespace failed")


def test_service_account_with_a_malformed_list_named(regcred, world):
    """An imagePullSecrets entry that is not an object is refused by name,
    the ServiceAccount is left as it was, and the Secret itself applied."""
    world.kube.seed_sa(NAMESPACE, "default", pull=["x"])
    with world.kube._lock:
        world.kube.sas[(NAMESPACE, "default")]["imagePullSecrets"] = ["x"]
    res = world.run(regcred, world.args(extra=["--service-account", "default"]))
    expect_failure(res, 4, "kube", "imagePullSecrets[0]", "not a JSON object")
    assert world.kube.sa(NAMESPACE, "default")["imagePullSecrets"] == ["x"]
    assert world.kube.get(NAMESPACE, SECRET) is not None
