"""deploy/components/admission-policy: a ValidatingAdmissionPolicy and its
binding that let regcred's ServiceAccount write only
kubernetes.io/dockerconfigjson Secrets, enforced by the real API server.

The Role lets regcred create its one Secret name, of any type. A Secret of
type kubernetes.io/service-account-token under that name, annotated with
another ServiceAccount, would be filled with that ServiceAccount's token by
the token controller and handed back in the answer to regcred's next apply.
The policy refuses it, for regcred's ServiceAccount only.
"""
from __future__ import annotations

import time

import pytest

DOCKERCFG = "eyJhdXRocyI6e319"       # {"auths":{}}
MESSAGE = "regcred's ServiceAccount may write only Secrets of type kubernetes.io/dockerconfigjson"


def policy_name(dep) -> str:
    return f"regcred-dockerconfigjson.{dep.namespace}.{dep.service_account}"


def sa_token_secret(name: str, victim: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name,
                         "annotations": {"kubernetes.io/service-account.name": victim}},
            "type": "kubernetes.io/service-account-token"}


def dockercfg_secret(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
            "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": DOCKERCFG}}


def secret_status(cluster, ns, name) -> int:
    st, _ = cluster.request("GET", f"/api/v1/namespaces/{ns}/secrets/{name}")
    return st


def delete_secret(cluster, ns, name):
    st, body = cluster.request("DELETE", f"/api/v1/namespaces/{ns}/secrets/{name}")
    assert st in (200, 404), (st, body)


def refused_until_enforced(cluster, token, ns, obj, timeout: float = 20):
    """The policy as applied with the deployment: the API server loads new
    policies asynchronously, so wait until the first refusal (or time out)."""
    deadline = time.monotonic() + timeout
    while True:
        st, body = cluster.apply_as_token(token, ns, obj)
        if st != 201 or time.monotonic() > deadline:
            return st, body
        delete_secret(cluster, ns, obj["metadata"]["name"])      # admitted: not loaded yet
        time.sleep(0.2)


@pytest.fixture(params=["base", "aks-issuer", "entra"])
def any_deployment(request):
    """The test overlay's deployment and both overlays' (renamed
    ServiceAccount, other namespaces): each carries its own policy."""
    fix = {"base": "deployment", "aks-issuer": "aks_deployment",
           "entra": "entra_deployment"}[request.param]
    return request.getfixturevalue(fix)


def test_policy_names_this_installation(cluster, any_deployment):
    dep = any_deployment
    name = policy_name(dep)
    assert dep.objects["ValidatingAdmissionPolicy"]["metadata"]["name"] == name
    pol = cluster.kubectl_json("get", "validatingadmissionpolicy", name)
    assert "namespace" not in pol["metadata"]                     # cluster-scoped
    assert pol["spec"]["failurePolicy"] == "Fail"
    assert pol["spec"]["matchConditions"] == [{
        "name": "regcred-service-account",
        "expression": "request.userInfo.username == 'system:serviceaccount:' + "
                      f"'{dep.namespace}' + ':' + '{dep.service_account}'"}]
    assert pol["spec"]["matchConstraints"]["resourceRules"] == [{
        "apiGroups": [""], "apiVersions": ["v1"], "resources": ["secrets"],
        "operations": ["CREATE", "UPDATE"], "scope": "*"}]
    b = cluster.kubectl_json("get", "validatingadmissionpolicybinding", name)
    assert b["spec"]["policyName"] == name and b["spec"]["validationActions"] == ["Deny"]
    assert "matchResources" not in b["spec"] or not b["spec"]["matchResources"].get(
        "namespaceSelector", {}).get("matchLabels")               # every namespace


def test_service_account_token_secret_is_refused(cluster, any_deployment, tmp_path):
    """As regcred's ServiceAccount: a service-account-token Secret under the
    managed name, for another ServiceAccount, is refused by the policy with
    its message (the Role alone allows it); a dockerconfigjson apply passes."""
    dep = any_deployment
    ns, secret = dep.namespace, dep.secret_name
    cluster.kubectl("create", "serviceaccount", "victim", "-n", ns, check=False)
    token = cluster.kubectl("create", "token", dep.service_account, "-n", ns).stdout_text.strip()
    delete_secret(cluster, ns, secret)
    try:
        st, body = refused_until_enforced(cluster, token, ns, sa_token_secret(secret, "victim"))
        assert st == 403, (st, body)
        assert body["reason"] == "Forbidden", body
        assert f"ValidatingAdmissionPolicy '{policy_name(dep)}'" in body["message"], body
        assert MESSAGE in body["message"], body
        assert secret_status(cluster, ns, secret) == 404
        # any other type too (the Role's name check passed: this is the policy)
        st, body = cluster.apply_as_token(token, ns, {"apiVersion": "v1", "kind": "Secret",
                                                      "metadata": {"name": secret},
                                                      "type": "Opaque"})
        assert st == 403 and MESSAGE in body["message"], (st, body)
        # what regcred writes passes, first create and update
        for want in (201, 200):
            st, body = cluster.apply_as_token(token, ns, dockercfg_secret(secret))
            assert st == want, (st, body)
    finally:
        delete_secret(cluster, ns, secret)


def test_regcred_itself_passes_the_policy(workload, cluster, deployment):
    w = workload
    assert cluster.kubectl_json("get", "validatingadmissionpolicy", policy_name(deployment))
    for _ in range(2):                 # create, then update
        res = w.run()
        assert res.rc == 0, res
    assert w.get_secret()["type"] == "kubernetes.io/dockerconfigjson"


def test_another_service_account_is_not_affected(cluster, deployment):
    """Another ServiceAccount with the same rights in the same namespace may
    create a service-account-token Secret under the same name: the policy
    looks at regcred's ServiceAccount only."""
    ns, secret = deployment.namespace, deployment.secret_name
    who = "not-regcred-writer"
    cluster.kubectl("create", "serviceaccount", who, "-n", ns, check=False)
    cluster.kubectl("create", "role", who, "-n", ns, "--verb=create,patch",
                    "--resource=secrets", f"--resource-name={secret}", check=False)
    cluster.kubectl("create", "rolebinding", who, "-n", ns, f"--role={who}",
                    f"--serviceaccount={ns}:{who}", check=False)
    token = cluster.kubectl("create", "token", who, "-n", ns).stdout_text.strip()
    # regcred's own token is refused (the policy is loaded) ...
    own = cluster.kubectl("create", "token", deployment.service_account, "-n", ns).stdout_text.strip()
    delete_secret(cluster, ns, secret)
    try:
        st, body = refused_until_enforced(cluster, own, ns, sa_token_secret(secret, "default"))
        assert st == 403 and MESSAGE in body["message"], (st, body)
        # ... the other's is not
        deadline = time.monotonic() + 20
        while True:
            st, body = cluster.apply_as_token(token, ns, sa_token_secret(secret, "default"))
            if st != 403 or "cannot patch" not in body.get("message", "") \
                    or time.monotonic() > deadline:
                break
            time.sleep(0.2)                        # the RoleBinding, not yet seen
        assert st == 201, (st, body)
        assert body["type"] == "kubernetes.io/service-account-token"
    finally:
        delete_secret(cluster, ns, secret)
        for kind in ("rolebinding", "role", "serviceaccount"):
            cluster.kubectl("delete", kind, who, "-n", ns, check=False)
