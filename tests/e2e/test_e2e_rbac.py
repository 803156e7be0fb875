"""Least privilege with the shipped Role (deploy/base/role.yaml): create and
patch, both limited by resourceNames to the one Secret. The API server
authorizes regcred's apply (a PATCH to /secrets/NAME) as patch and, when it
creates the Secret, as create with the name set: so the Role suffices for the
first create and every later update, and nothing else can be created."""
from __future__ import annotations

import time

from harness import expect_failure

DOCKERCFG = "eyJhdXRocyI6e319"       # {"auths":{}}


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
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [w.secret],
         "verbs": ["create", "patch"]},
    ]
    res = w.run()                      # the first apply creates the Secret
    assert res.rc == 0, res
    created = w.get_secret()
    res = w.run()                      # the second apply is a patch of the existing Secret
    assert res.rc == 0, res
    assert w.get_secret()["metadata"]["uid"] == created["metadata"]["uid"]
    assert can_i(cluster, user, w.ns, "create", f"secrets/{w.secret}")
    assert can_i(cluster, user, w.ns, "patch", f"secrets/{w.secret}")
    assert not can_i(cluster, user, w.ns, "create", "secrets")          # no name: no
    assert not can_i(cluster, user, w.ns, "create", "secrets/some-other-secret")
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
    assert role["rules"][0]["verbs"] == ["create", "patch"]
    try:
        cluster.kubectl("patch", "role", "regcred", "-n", w.ns, "--type", "json",
                        "-p", '[{"op": "replace", "path": "/rules/0/verbs", "value": ["patch"]}]')
        wait_can_i(cluster, user, w.ns, "create", f"secrets/{w.secret}", False)
        res = w.run()
        expect_failure(res, 4, "kube", "HTTP 403", f'User "{user}"',
                       'cannot create resource "secrets"')
        assert w.get_secret() is None
    finally:
        cluster.kubectl("apply", "-k", str(deployment.overlay))
        wait_can_i(cluster, user, w.ns, "create", f"secrets/{w.secret}", True)
    res = w.run()
    assert res.rc == 0, res


def other_secret(w, name: str):
    """Delete Secret NAME (as the admin) when the test is done."""
    st, body = w.cluster.request("DELETE", f"/api/v1/namespaces/{w.ns}/secrets/{name}")
    assert st in (200, 404), (st, body)


def test_apply_of_another_name_is_refused(workload, cluster, deployment):
    """regcred pointed at another Secret name: refused (403, exit 4) whether
    the apply would create it or patch an existing one, which stays as it was."""
    w = workload
    user = f"system:serviceaccount:{w.ns}:{deployment.service_account}"
    other = "not-the-managed-secret"
    other_secret(w, other)
    try:
        args = [other if a == w.secret else a for a in deployment.args]
        assert args != deployment.args
        # create path: no such Secret yet
        res = w.run(args=args)
        expect_failure(res, 4, "kube", "HTTP 403", f'User "{user}"', f'secrets "{other}"')
        st, _ = cluster.request("GET", f"/api/v1/namespaces/{w.ns}/secrets/{other}")
        assert st == 404
        # patch path: the Secret exists (made by someone else)
        cluster.kubectl("create", "secret", "docker-registry", other, "-n", w.ns,
                        "--docker-server=example.invalid", "--docker-username=u",
                        "--docker-password=someone-elses")
        _, before = cluster.request("GET", f"/api/v1/namespaces/{w.ns}/secrets/{other}")
        res = w.run(args=args)
        expect_failure(res, 4, "kube", "HTTP 403", f'User "{user}"', f'secrets "{other}"')
        _, after = cluster.request("GET", f"/api/v1/namespaces/{w.ns}/secrets/{other}")
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
        assert after["data"] == before["data"]
    finally:
        other_secret(w, other)
    # the managed name still works
    res = w.run()
    assert res.rc == 0, res


def test_create_is_limited_by_name_too(workload, cluster, deployment):
    """With regcred's own token: a plain create (POST, no name in the URL)
    of another Secret, and of the managed one, is refused as create; an
    apply that would create another name is refused. Before create was
    limited by resourceNames, the POST of any name succeeded."""
    w = workload
    user = f"system:serviceaccount:{w.ns}:{deployment.service_account}"
    token = (w.sa_dir / "token").read_text()
    other = "created-by-regcred-token"
    other_secret(w, other)
    try:
        for name in (other, w.secret):
            obj = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                   "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": DOCKERCFG}}
            st, body = cluster.post_as_token(token, w.ns, obj)
            assert st == 403, (name, st, body)
            assert f'User "{user}" cannot create resource "secrets"' in body["message"], body
        st, body = cluster.apply_as_token(token, w.ns, dict(obj, metadata={"name": other}))
        assert st == 403, (st, body)
        assert f'User "{user}" cannot patch resource "secrets"' in body["message"], body
        for name in (other, w.secret):
            st, _ = cluster.request("GET", f"/api/v1/namespaces/{w.ns}/secrets/{name}")
            assert st == 404, name
        # the managed name, by apply, is created
        st, body = cluster.apply_as_token(token, w.ns, obj)
        assert st == 201, (st, body)
    finally:
        other_secret(w, other)
