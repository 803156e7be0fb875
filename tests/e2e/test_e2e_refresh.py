"""regcred against a real kube-apiserver: what it writes, taking over the old
job's Secret, refusing what it must refuse, verifying the server's name."""
from __future__ import annotations

import base64
import json
import time

from harness import expect_failure, step_lines
from watch import SecretWatch

DOCKER_USER = "oauth2accesstoken"


def decoded(secret: dict) -> bytes:
    return base64.b64decode(secret["data"][".dockerconfigjson"], validate=True)


def kubectl_secret(cluster, ns, name) -> dict:
    return cluster.kubectl_json("get", "secret", name, "-n", ns, "--show-managed-fields")


def registry(w) -> str:
    a = w.dep.args
    return a[a.index("--registry") + 1]


def test_first_run_creates_exactly_what_kubectl_creates(workload, cluster, google):
    w = workload
    res = w.run()
    assert res.rc == 0, res
    # STS saw a real TokenRequest token for the provider, verified by signature
    claims = google.sts.verified[-1]
    assert claims["sub"] == google.subject and google.provider_audience in claims["aud"]
    got = kubectl_secret(cluster, w.ns, w.secret)
    password = google.iam.issued[-1]
    ref_name = "kubectl-made"
    cluster.kubectl("create", "secret", "docker-registry", ref_name, "-n", w.ns,
                    f"--docker-server={registry(w)}", f"--docker-username={DOCKER_USER}",
                    f"--docker-password={password}")
    try:
        ref = kubectl_secret(cluster, w.ns, ref_name)
    finally:
        cluster.kubectl("delete", "secret", ref_name, "-n", w.ns)
    assert got["type"] == ref["type"] == "kubernetes.io/dockerconfigjson"
    assert decoded(got) == decoded(ref)
    assert set(got["data"]) == set(ref["data"]) == {".dockerconfigjson"}
    meta = got["metadata"]
    assert meta["labels"] == {"app.kubernetes.io/managed-by": "regcred"}
    assert set(meta["annotations"]) == {"regcred/token-expiry"}
    assert [(m["manager"], m["operation"]) for m in meta["managedFields"]] == [("regcred", "Apply")]


def test_kubectl_created_secret_is_taken_over_in_place(workload, cluster, google):
    w = workload
    cluster.kubectl("create", "secret", "docker-registry", w.secret, "-n", w.ns,
                    f"--docker-server={registry(w)}", f"--docker-username={DOCKER_USER}",
                    "--docker-password=old-password-from-the-old-job")
    before = kubectl_secret(cluster, w.ns, w.secret)
    with SecretWatch(cluster, w.ns, w.secret, before["metadata"]["resourceVersion"]) as watch:
        res = w.run()
        assert res.rc == 0, res
        after = kubectl_secret(cluster, w.ns, w.secret)
        watch.wait_for_rv(after["metadata"]["resourceVersion"])
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert after["metadata"]["creationTimestamp"] == before["metadata"]["creationTimestamp"]
    cfg = json.loads(decoded(after))
    assert cfg["auths"][registry(w)]["password"] == google.iam.issued[-1]
    assert [e for e, _ in watch.events] == ["MODIFIED"], watch.events
    managers = {m["manager"]: m for m in after["metadata"]["managedFields"]}
    assert set(managers) == {"kubectl-create", "regcred"}
    # force=true moved the data and type fields from kubectl's ownership to regcred's
    assert "f:.dockerconfigjson" not in json.dumps(managers["kubectl-create"].get("fieldsV1", {}))


def test_opaque_secret_of_the_same_name_is_reported_and_left_alone(workload, cluster):
    w = workload
    cluster.kubectl("create", "secret", "generic", w.secret, "-n", w.ns, "--from-literal=keep=me")
    before = kubectl_secret(cluster, w.ns, w.secret)
    res = w.run()
    expect_failure(res, 4, "kube", "HTTP 422", "field is immutable", w.secret)
    after = kubectl_secret(cluster, w.ns, w.secret)
    assert after == before


def test_revoked_token_is_refused_with_the_api_message(workload, cluster, deployment):
    w = workload
    old_token = (w.sa_dir / "token").read_text()
    sa = deployment.service_account
    try:
        cluster.kubectl("delete", "serviceaccount", sa, "-n", w.ns)
        cluster.kubectl("create", "serviceaccount", sa, "-n", w.ns)
        # wait until the API server's token cache has seen the deletion
        deadline = time.monotonic() + 20
        while True:
            st, _ = cluster.request_as_token(old_token, "GET", "/api")
            if st == 401:
                break
            assert time.monotonic() < deadline, "the old token is still accepted"
            time.sleep(0.2)
        res = w.run()
        expect_failure(res, 4, "kube", "HTTP 401", "Unauthorized")
        assert w.get_secret() is None
    finally:
        cluster.kubectl("apply", "-k", str(deployment.overlay))


def test_server_certificate_is_verified_by_name_over_ip(workload, cluster):
    w = workload
    # KUBERNETES_SERVICE_HOST is 127.0.0.1: the name verified is kubernetes.default.svc
    res = w.run()
    assert res.rc == 0, res
    res = w.run(extra=["--kube-server-name", "kubernetes.default.svc.cluster.local"])
    assert res.rc == 0, res
    rv = w.get_secret()["metadata"]["resourceVersion"]
    res = w.run(extra=["--kube-server-name", "wrong.example"])
    expect_failure(res, 4, "kube", "TLS", "wrong.example")
    assert w.get_secret()["metadata"]["resourceVersion"] == rv


def test_a_ca_that_did_not_sign_the_server_is_refused(workload, cluster):
    w = workload
    (w.sa_dir / "ca.crt").write_bytes(open(cluster.pki.other_ca_file, "rb").read())
    res = w.run()
    expect_failure(res, 4, "kube", "TLS")
    assert w.get_secret() is None


def test_google_refuses_a_token_for_another_audience(workload, cluster, google):
    """The STS stand-in really verifies: a token with the API server's own
    audience is refused (exit 3) and nothing is written."""
    w = workload
    w.token_file.write_text(w.create_token())
    res = w.run()
    expect_failure(res, 3, "sts", "HTTP 400", "invalid_grant", "audience")
    assert w.get_secret() is None
    assert step_lines(res, "kube") == []
