"""deploy/: what the shipped manifests say, and that the CronJob's pod passes
Pod Security `restricted` in the namespace the namespace component creates:
the base (through tests/e2e/overlay/) and both overlays (aks-issuer, entra)
as a user copies and edits them (tests/e2e/params/); and that the base alone
leaves an application's namespace as it was."""
from __future__ import annotations

import base64
import copy
import json
import re
import time
from pathlib import Path

import pytest

from e2e_world import Deployment, copy_overlay

REPO = Path(__file__).resolve().parents[2]
PROVIDER_AUD = re.compile(r"^https://iam\.googleapis\.com/projects/\d+/locations/global/"
                          r"workloadIdentityPools/[^/]+/providers/[^/]+$")
AZURE_AUDIENCE = "api://AzureADTokenExchange"
WEBHOOK_LABEL = "azure.workload.identity/use"
WEBHOOK_TOKEN_DIR = "/var/run/secrets/azure/tokens"      # its mount path, moved across releases
IMDS_URL = re.compile(r"^http://169\.254\.169\.254/metadata/identity/oauth2/token\?"
                      r"api-version=2018-02-01&resource=(.+)$")
PARAMS = Path(__file__).resolve().parent / "params"
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
CLUSTER_SCOPED = {"Namespace", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}
BASE_KINDS = {"ServiceAccount", "Role", "RoleBinding", "ConfigMap", "CronJob", "NetworkPolicy"}


def render(cluster, directory: Path) -> dict:
    """kubectl kustomize DIR, as JSON objects by kind (via a client dry run)."""
    y = cluster.kubectl("kustomize", str(directory)).stdout
    out = cluster.kubectl("create", "--dry-run=client", "-o", "json", "-f", "-", input=y).stdout
    dec, text, pos, items = json.JSONDecoder(), out.decode(), 0, []
    while text[pos:].strip():
        obj, end = dec.raw_decode(text, len(text) - len(text[pos:].lstrip()))
        items += obj["items"] if obj.get("kind") == "List" else [obj]
        pos = end
    return {o["kind"]: o for o in items}


def pod_from_cronjob(dep, name: str) -> dict:
    tmpl = copy.deepcopy(dep.cronjob["spec"]["jobTemplate"]["spec"]["template"])
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": dep.namespace,
                         "labels": tmpl.get("metadata", {}).get("labels", {})},
            "spec": tmpl["spec"]}


def dry_run_create(cluster, obj: dict):
    return cluster.kubectl("create", "--dry-run=server", "-o", "json", "-f", "-",
                           input=json.dumps(obj), check=False)


def test_apply_gave_no_warnings(deployment):
    assert "Warning" not in deployment.apply_stderr, deployment.apply_stderr


def test_cronjob_pod_is_admitted_as_restricted_without_warnings(cluster, deployment):
    ns = cluster.kubectl_json("get", "namespace", deployment.namespace)
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    pod = pod_from_cronjob(deployment, "regcred-dry-run")
    p = dry_run_create(cluster, pod)
    assert p.returncode == 0, p.stderr_text
    assert p.stderr_text.strip() == "", p.stderr_text       # no Warning: lines
    admitted = json.loads(p.stdout)
    assert admitted["spec"]["serviceAccountName"] == deployment.service_account
    # the same pod as root is refused by the namespace's enforce label
    root = copy.deepcopy(pod)
    root["metadata"]["name"] = "regcred-as-root"
    root["spec"]["securityContext"]["runAsUser"] = 0
    root["spec"]["containers"][0]["securityContext"]["runAsUser"] = 0
    p = dry_run_create(cluster, root)
    assert p.returncode != 0, p.stdout_text
    assert 'violates PodSecurity "restricted:latest"' in p.stderr_text, p.stderr_text
    assert "runAsUser=0" in p.stderr_text, p.stderr_text


def test_cronjob_shape(deployment):
    cj = deployment.cronjob["spec"]
    job = cj["jobTemplate"]["spec"]
    assert cj["schedule"] == "*/15 * * * *"
    assert cj["concurrencyPolicy"] == "Forbid"
    assert cj["startingDeadlineSeconds"] > 0
    assert job["backoffLimit"] >= 0 and job["activeDeadlineSeconds"] > 0
    spec = deployment.pod_spec
    sc = spec["securityContext"]
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == sc["runAsGroup"] == 65532
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    c = deployment.container
    csc = c["securityContext"]
    assert csc["readOnlyRootFilesystem"] is True and csc["allowPrivilegeEscalation"] is False
    assert csc["capabilities"] == {"drop": ["ALL"]}
    assert c["image"] == "regcred.test/regcred:e2e"          # set by the test overlay
    args = c["args"]
    assert args[0] == "refresh" and "--registry" in args and "--secret" in args
    role = deployment.objects["Role"]
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"],
                              "resourceNames": [deployment.secret_name],
                              "verbs": ["create", "patch"]}]
    # the token the pod gets is for the provider the credential config names
    vols = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    toks = deployment.audience_tokens()
    assert len(toks) == 1
    tok_vol, tok = toks[0]
    assert tok["expirationSeconds"] == 3600
    assert tok["audience"] == "https:" + deployment.credential_config["audience"]
    assert PROVIDER_AUD.match(tok["audience"])
    assert deployment.credential_config["credential_source"]["file"] == \
        f"{mounts[tok_vol]}/{tok['path']}"
    env = {e["name"]: e["value"] for e in c["env"]}
    cm_vol = [n for n, v in vols.items() if "configMap" in v][0]
    assert vols[cm_vol]["configMap"]["name"] == deployment.objects["ConfigMap"]["metadata"]["name"]
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == f"{mounts[cm_vol]}/credential-config.json"


def test_cronjob_hardening(deployment):
    """No automatic API token (a 10-minute one at the same path instead),
    configuration errors (exit 2) not retried, a pull policy, Linux nodes,
    and regcred's image never pulled with the Secret it maintains."""
    job = deployment.cronjob["spec"]["jobTemplate"]["spec"]
    spec = deployment.pod_spec
    c = deployment.container
    assert spec["automountServiceAccountToken"] is False
    mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
    api = mounts[SA_DIR]
    assert api["readOnly"] is True
    vol = {v["name"]: v for v in spec["volumes"]}[api["name"]]
    assert vol["projected"]["sources"] == [
        {"serviceAccountToken": {"expirationSeconds": 600, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1",
                                                 "fieldPath": "metadata.namespace"}}]}},
    ]
    assert "--kube-sa-dir" not in " ".join(deployment.args)       # regcred's default path
    assert spec["restartPolicy"] == "Never"
    assert job["podFailurePolicy"]["rules"][0] == {
        "action": "FailJob",
        "onExitCodes": {"containerName": "regcred", "operator": "In", "values": [2]}}
    assert {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]} \
        in job["podFailurePolicy"]["rules"]
    assert c["imagePullPolicy"] == "IfNotPresent"
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux"}       # no arch pin: amd64 and arm64 in one index
    assert deployment.secret_name not in [s["name"] for s in spec.get("imagePullSecrets", [])]


def test_networkpolicy_allows_dns_and_443_only(deployment):
    np = deployment.objects["NetworkPolicy"]["spec"]
    labels = deployment.cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]
    assert np["podSelector"] == {"matchLabels": {"app.kubernetes.io/name": "regcred"}}
    assert labels["app.kubernetes.io/name"] == "regcred"
    assert np["policyTypes"] == ["Ingress", "Egress"]
    assert not np.get("ingress")                                   # nothing may connect
    assert np["egress"] == [
        {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"ports": [{"protocol": "TCP", "port": 443}]},
    ]


def test_api_token_of_the_pod_lives_ten_minutes(cluster, deployment):
    """Why automountServiceAccountToken is off: the API server makes the
    automatic volume's token (requested for 3607 s, bound to the pod) valid
    for a year (--service-account-extend-token-expiration, the default);
    the CronJob's own volume asks for 600 s and gets 600 s. Both requested as
    the kubelet does, bound to a pod made from the CronJob's template."""
    pod = pod_from_cronjob(deployment, "regcred-token-lifetime")
    p = cluster.kubectl("create", "-f", "-", "-o", "json", input=json.dumps(pod))
    created = json.loads(p.stdout)
    try:
        # the ServiceAccount admission plugin added no token volume of its own
        assert [v["name"] for v in created["spec"]["volumes"]] == \
            [v["name"] for v in deployment.pod_spec["volumes"]]

        def lifetime(seconds: int) -> int:
            tok = cluster.kubectl("create", "token", deployment.service_account,
                                  "-n", deployment.namespace, "--bound-object-kind", "Pod",
                                  "--bound-object-name", pod["metadata"]["name"],
                                  "--bound-object-uid", created["metadata"]["uid"],
                                  "--duration", f"{seconds}s").stdout_text.strip()
            payload = tok.split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            return claims["exp"] - claims["iat"]
        vol = {v["name"]: v for v in deployment.pod_spec["volumes"]}["kube-api-access"]
        asked = vol["projected"]["sources"][0]["serviceAccountToken"]["expirationSeconds"]
        assert lifetime(asked) == 600
        assert lifetime(3607) > 300 * 86400          # what automount would have given
    finally:
        cluster.kubectl("delete", "pod", pod["metadata"]["name"], "-n", deployment.namespace,
                        "--wait=false", check=False)


def test_base_defaults_to_the_provider_audience(cluster):
    objs = render(cluster, REPO / "deploy" / "base")
    spec = objs["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    srcs = [s for v in spec["volumes"] for s in (v.get("projected") or {}).get("sources", [])]
    aud = srcs[0]["serviceAccountToken"]["audience"]
    assert PROVIDER_AUD.match(aud), aud
    cfg = json.loads(objs["ConfigMap"]["data"]["credential-config.json"])
    assert aud == "https:" + cfg["audience"]
    assert spec["containers"][0]["image"] == "ghcr.io/example/regcred:0.1.0"
    # namespaced objects only: no Namespace, nothing cluster-scoped
    assert set(objs) == BASE_KINDS, set(objs)


def test_base_leaves_an_applications_namespace_alone(cluster, tmp_path):
    """The base applied into an application's existing namespace neither
    relabels it nor owns it: deleting regcred (kubectl delete -k, what a
    prune of regcred's objects does) leaves the namespace and the
    application's objects."""
    ns = "regcred-e2e-app"
    cluster.kubectl("create", "namespace", ns)
    cluster.kubectl("label", "namespace", ns, "team=app",
                    "pod-security.kubernetes.io/enforce=baseline")
    cluster.kubectl("create", "configmap", "app-config", "-n", ns, "--from-literal=k=v")
    before = cluster.kubectl_json("get", "namespace", ns)["metadata"]
    d = copy_overlay("aks-issuer", tmp_path, ns, own_namespace=False)
    k = (d / "kustomization.yaml").read_text()
    assert all(l.lstrip().startswith("#") for l in k.splitlines() if "components/namespace" in l)
    rendered = render(cluster, d)
    assert "Namespace" not in rendered
    p = cluster.kubectl("apply", "-k", str(d))
    assert "namespace/" not in p.stdout_text, p.stdout_text
    after = cluster.kubectl_json("get", "namespace", ns)["metadata"]
    assert after["labels"] == before["labels"]
    assert after.get("annotations", {}) == before.get("annotations", {})
    assert after["resourceVersion"] == before["resourceVersion"]
    assert cluster.kubectl_json("get", "cronjob", "regcred", "-n", ns)
    # uninstall regcred: its objects go, the namespace and the app's stay
    cluster.kubectl("delete", "-k", str(d), "--wait=false")
    gone = cluster.kubectl_json("get", "namespace", ns)
    assert "deletionTimestamp" not in gone["metadata"] and gone["status"]["phase"] == "Active"
    assert gone["metadata"]["labels"] == before["labels"]
    assert cluster.kubectl_json("get", "configmap", "app-config", "-n", ns)
    p = cluster.kubectl("get", "cronjob", "regcred", "-n", ns, check=False)
    assert p.returncode != 0 and "NotFound" in p.stderr_text




# -- the overlays ------------------------------------------------------------------

def params(name: str) -> dict:
    lines = (PARAMS / name / "params.env").read_text().splitlines()
    return dict(l.split("=", 1) for l in lines if l.strip() and not l.startswith("#"))


@pytest.fixture(params=["aks-issuer", "entra"])
def overlay(request):
    """(name, Deployment) of each overlay, applied as a user would."""
    fix = {"aks-issuer": "aks_deployment", "entra": "entra_deployment"}[request.param]
    return request.param, request.getfixturevalue(fix)


def test_overlay_applied_without_warnings(overlay):
    _, dep = overlay
    assert "Warning" not in dep.apply_stderr, dep.apply_stderr


def test_overlay_pod_is_admitted_as_restricted_without_warnings(cluster, overlay):
    name, dep = overlay
    ns = cluster.kubectl_json("get", "namespace", dep.namespace)
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    p = dry_run_create(cluster, pod_from_cronjob(dep, f"regcred-{name}-dry-run"))
    assert p.returncode == 0, p.stderr_text
    assert p.stderr_text.strip() == "", p.stderr_text
    admitted = json.loads(p.stdout)
    assert admitted["spec"]["serviceAccountName"] == params(name)["SERVICE_ACCOUNT"]
    # deploy/README.md's first refresh: a Job from the CronJob, also without warnings
    p = cluster.kubectl("create", "job", "--from=cronjob/regcred", "regcred-first",
                        "-n", dep.namespace, "--dry-run=server", "-o", "json", check=False)
    assert p.returncode == 0 and p.stderr_text.strip() == "", p.stderr_text
    # ... which the API server validated with its podFailurePolicy
    job = json.loads(p.stdout)["spec"]
    assert job["podFailurePolicy"]["rules"][0]["action"] == "FailJob"
    assert job["template"]["spec"]["restartPolicy"] == "Never"


def test_overlay_parameters_reach_every_place(cluster, overlay):
    """params.env's values, none of the overlay's defaults, in the objects the
    API server has; the parameter ConfigMap itself is not applied."""
    name, dep = overlay
    want = params(name)
    sa = want["SERVICE_ACCOUNT"]
    assert sa != "regcred" and want["SECRET_NAME"] != "ar-pull-secret"
    assert dep.objects["ServiceAccount"]["metadata"]["name"] == sa
    assert dep.service_account == sa
    subjects = dep.objects["RoleBinding"]["subjects"]
    assert subjects == [{"kind": "ServiceAccount", "name": sa, "namespace": dep.namespace}]
    assert dep.registry == want["REGISTRY"] and dep.args.count("--registry") == 1
    assert dep.secret_name == want["SECRET_NAME"]
    assert dep.objects["Role"]["rules"][0]["resourceNames"] == [want["SECRET_NAME"]]
    assert dep.container["image"] == "regcred.test/regcred:e2e"
    cms = cluster.kubectl_json("get", "configmaps", "-n", dep.namespace)["items"]
    assert [c["metadata"]["name"] for c in cms if c["metadata"]["name"] != "kube-root-ca.crt"] == \
        [dep.objects["ConfigMap"]["metadata"]["name"]]
    # the credential config is the file as gcloud wrote it, byte for byte
    assert dep.objects["ConfigMap"]["data"]["credential-config.json"] == \
        (PARAMS / name / "credential-config.json").read_text()
    # the RBAC the shipped Role gives is the one the ServiceAccount gets
    who = f"system:serviceaccount:{dep.namespace}:{sa}"
    for verb, obj, ok in (("create", f"secret/{dep.secret_name}", "yes"),
                          ("patch", f"secret/{dep.secret_name}", "yes"),
                          ("create", "secrets", "no"), ("create", "secret/other", "no"),
                          ("patch", "secret/other", "no"), ("get", f"secret/{dep.secret_name}", "no")):
        p = cluster.kubectl("auth", "can-i", verb, obj, "-n", dep.namespace, "--as", who, check=False)
        assert p.stdout_text.strip() == ok, (verb, obj, p.stdout_text, p.stderr_text)


def test_aks_issuer_overlay_wiring(aks_deployment):
    """Google trusts the cluster's issuer: the pod's own token for the
    provider's audience, read by a file credential source at a fixed path."""
    dep = aks_deployment
    cfg = dep.credential_config
    assert dep.token_file == "/var/run/secrets/tokens/gcp/token"
    assert cfg["credential_source"] == {"file": dep.token_file, "format": {"type": "text"}}
    assert dep.token_audience == params("aks-issuer")["TOKEN_AUDIENCE"] == "https:" + cfg["audience"]
    assert not [a for a in dep.args if a.startswith("--azure")]
    assert WEBHOOK_LABEL not in dep.cronjob["spec"]["jobTemplate"]["spec"]["template"]["metadata"]["labels"]


def test_entra_overlay_wiring(entra_deployment):
    """Google trusts Entra ID: the config is gcloud's --azure one (IMDS URL,
    unchanged), the pod's own token for api://AzureADTokenExchange at a fixed
    path of its own, the IDs as flags; nothing from the webhook."""
    dep = entra_deployment
    want = params("entra")
    cfg = dep.credential_config
    src = cfg["credential_source"]
    m = IMDS_URL.match(src["url"])
    assert m and m.group(1) == "api://e2e-regcred-google", src
    assert src["headers"] == {"Metadata": "True"}
    assert src["format"] == {"type": "json", "subject_token_field_name": "access_token"}
    assert dep.token_audience == AZURE_AUDIENCE
    assert dep.token_file == "/var/run/secrets/tokens/azure/token"
    azure = [a for a in dep.args if a.startswith("--azure")]
    assert azure == [f"--azure-client-id={want['AZURE_CLIENT_ID']}",
                     f"--azure-tenant-id={want['AZURE_TENANT_ID']}",
                     f"--azure-token-file={dep.token_file}"]          # authority: the default
    # independent of the webhook: no label, no mount of its, no AZURE_* variable
    tmpl = dep.cronjob["spec"]["jobTemplate"]["spec"]["template"]
    assert WEBHOOK_LABEL not in tmpl["metadata"]["labels"]
    assert not [m for m in dep.container["volumeMounts"] if m["mountPath"].startswith(WEBHOOK_TOKEN_DIR)]
    assert not [e for e in dep.container.get("env", []) if e["name"].startswith("AZURE_")]
    toks = [t for _, t in dep.audience_tokens()]
    assert len(toks) == 1 and toks[0]["expirationSeconds"] == 3600
    # if the webhook is used as well, what it injects (from these) agrees
    ann = dep.objects["ServiceAccount"]["metadata"]["annotations"]
    assert ann["azure.workload.identity/client-id"] == want["AZURE_CLIENT_ID"]
    assert ann["azure.workload.identity/tenant-id"] == want["AZURE_TENANT_ID"]


def test_shipped_overlays_render_with_their_defaults(cluster):
    """deploy/overlays/* as shipped (placeholders) render, with the parameter
    ConfigMap left out and the base's defaults where params.env repeats them."""
    for name in ("aks-issuer", "entra"):
        objs = render(cluster, REPO / "deploy" / "overlays" / name)
        # the admission policy by default; the Namespace only when asked for
        assert set(objs) == BASE_KINDS | {"ValidatingAdmissionPolicy",
                                          "ValidatingAdmissionPolicyBinding"}, set(objs)
        spec = objs["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        assert spec["serviceAccountName"] == "regcred"
        assert objs["Role"]["rules"][0]["resourceNames"] == ["ar-pull-secret"]
        assert objs["ValidatingAdmissionPolicy"]["metadata"]["name"] == \
            "regcred-dockerconfigjson.bifrost.regcred"
        assert objs["ValidatingAdmissionPolicyBinding"]["spec"]["policyName"] == \
            "regcred-dockerconfigjson.bifrost.regcred"
        assert not any(a.endswith("=from-params.env") for a in spec["containers"][0]["args"])
        cfg = json.loads(objs["ConfigMap"]["data"]["credential-config.json"])
        if name == "aks-issuer":
            aud = spec["volumes"][0]["projected"]["sources"][0]["serviceAccountToken"]["audience"]
            assert aud == "https:" + cfg["audience"] and PROVIDER_AUD.match(aud)
        else:
            assert IMDS_URL.match(cfg["credential_source"]["url"])
    assert not (REPO / "deploy" / "overlays" / "azure-workload-identity").exists()


def test_split_apply_cluster_admin_then_namespace_admin(cluster, tmp_path):
    """deploy/README.md "Who applies what": the cluster admin applies the
    components (namespace and admission policy) by label, then a user with
    only the built-in `admin` role's rights in that namespace applies the
    rest; that user could not have applied the policy. (No controller
    manager here aggregates `admin`: the user is bound to the three roles it
    aggregates, which is what `admin` holds.)"""
    ns, user = "regcred-e2e-split", "e2e-namespace-admin"
    d = copy_overlay("aks-issuer", tmp_path, ns, own_namespace=True)
    cluster_part = "app.kubernetes.io/component in (admission-policy,namespace)"
    ns_part = "app.kubernetes.io/component notin (admission-policy,namespace)"
    p = cluster.kubectl("apply", "-k", str(d), "-l", cluster_part)
    assert sorted(l.split()[0].split("/")[0] for l in p.stdout_text.splitlines()) == [
        "namespace", "validatingadmissionpolicy.admissionregistration.k8s.io",
        "validatingadmissionpolicybinding.admissionregistration.k8s.io"], p.stdout_text
    for part in ("admin", "edit", "view"):
        cluster.kubectl("create", "rolebinding", f"{user}-{part}", "-n", ns,
                        f"--clusterrole=system:aggregate-to-{part}", f"--user={user}")
    deadline = time.monotonic() + 20
    while cluster.kubectl("auth", "can-i", "create", "roles", "-n", ns, "--as", user,
                          check=False).stdout_text.strip() != "yes":
        assert time.monotonic() < deadline, "the RoleBinding never took effect"
        time.sleep(0.2)
    p = cluster.kubectl("apply", "-k", str(d), "-l", ns_part, "--as", user, check=False)
    assert p.returncode == 0, p.stderr_text
    kinds = sorted(l.split()[0].split("/")[0].split(".")[0] for l in p.stdout_text.splitlines())
    assert kinds == ["configmap", "cronjob", "networkpolicy", "role", "rolebinding",
                     "serviceaccount"], p.stdout_text
    p = cluster.kubectl("apply", "-k", str(d), "-l", cluster_part, "--as", user, check=False)
    assert p.returncode != 0 and "forbidden" in p.stderr_text, p.stderr_text
    dep = Deployment.apply(cluster, d)          # all of it, as the admin: nothing left to do
    assert set(dep.objects) == BASE_KINDS | CLUSTER_SCOPED
    assert dep.namespace == ns
