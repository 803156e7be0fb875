"""deploy/: what the shipped manifests say, and that the CronJob's pod passes
Pod Security `restricted` in the namespace they create."""
from __future__ import annotations

import copy
import json
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROVIDER_AUD = re.compile(r"^https://iam\.googleapis\.com/projects/\d+/locations/global/"
                          r"workloadIdentityPools/[^/]+/providers/[^/]+$")
AZURE_TOKEN = "/var/run/secrets/azure/tokens/azure-identity-token"


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
    assert cj["schedule"] == "*/20 * * * *"
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
    assert role["rules"][1]["resourceNames"] == [deployment.secret_name]
    # the token the pod gets is for the provider the credential config names
    vols = {v["name"]: v for v in spec["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    tok = [s["serviceAccountToken"] for v in vols.values()
           for s in (v.get("projected") or {}).get("sources", []) if "serviceAccountToken" in s]
    assert len(tok) == 1 and tok[0]["expirationSeconds"] == 3600
    assert tok[0]["audience"] == "https:" + deployment.credential_config["audience"]
    assert PROVIDER_AUD.match(tok[0]["audience"])
    tok_vol = [n for n, v in vols.items() if "projected" in v][0]
    assert deployment.credential_config["credential_source"]["file"] == \
        f"{mounts[tok_vol]}/{tok[0]['path']}"
    env = {e["name"]: e["value"] for e in c["env"]}
    cm_vol = [n for n, v in vols.items() if "configMap" in v][0]
    assert vols[cm_vol]["configMap"]["name"] == deployment.objects["ConfigMap"]["metadata"]["name"]
    assert env["GOOGLE_APPLICATION_CREDENTIALS"] == f"{mounts[cm_vol]}/credential-config.json"


def test_base_defaults_to_the_provider_audience(cluster):
    objs = render(cluster, REPO / "deploy" / "base")
    spec = objs["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    srcs = [s for v in spec["volumes"] for s in (v.get("projected") or {}).get("sources", [])]
    aud = srcs[0]["serviceAccountToken"]["audience"]
    assert PROVIDER_AUD.match(aud), aud
    cfg = json.loads(objs["ConfigMap"]["data"]["credential-config.json"])
    assert aud == "https:" + cfg["audience"]
    assert spec["containers"][0]["image"] == "ghcr.io/example/regcred:0.1.0"


def test_azure_overlay_reproduces_the_old_wiring(cluster):
    objs = render(cluster, REPO / "deploy" / "overlays" / "azure-workload-identity")
    tmpl = objs["CronJob"]["spec"]["jobTemplate"]["spec"]["template"]
    assert tmpl["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    spec = tmpl["spec"]
    assert not any("projected" in v for v in spec["volumes"]), spec["volumes"]
    names = {v["name"] for v in spec["volumes"]}
    assert {m["name"] for m in spec["containers"][0]["volumeMounts"]} <= names
    cfg = json.loads(objs["ConfigMap"]["data"]["credential-config.json"])
    assert cfg["credential_source"]["file"] == AZURE_TOKEN
