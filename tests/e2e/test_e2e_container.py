"""8. The same refresh from the container image (Containerfile) under podman,
run as the CronJob's pod runs it: its image name, user, read-only root,
no capabilities, its mounts at the CronJob's paths, the default
service-account folder, the in-cluster environment.

Skipped only when the repository has no Containerfile or podman is not
installed. E2E_PODMAN_RUN_ARGS replaces the extra `podman run` options
(default: modest ulimits, which some sandboxes cannot raise, and runc when it
is installed, since crun refuses hybrid cgroup hierarchies).
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import time

import pytest

from pathlib import Path

import harness as H

REPO = Path(__file__).resolve().parents[2]

CONTAINERFILE = REPO / "Containerfile"
PODMAN = shutil.which("podman")
SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
ROOT_IN_CONTAINER = "/etc/regcred-test/google-root.pem"

pytestmark = [
    pytest.mark.skipif(not CONTAINERFILE.exists(), reason="no Containerfile in the repository"),
    pytest.mark.skipif(PODMAN is None, reason="podman is not installed"),
]


def run_args() -> list:
    if "E2E_PODMAN_RUN_ARGS" in os.environ:
        return shlex.split(os.environ["E2E_PODMAN_RUN_ARGS"])
    a = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]
    return a + (["--runtime", "runc"] if shutil.which("runc") else [])


@pytest.fixture(scope="module")
def image(deployment, regcred_bin, tmp_path_factory) -> str:
    """Build the Containerfile around the binary under test, tagged with the
    image name the test overlay gives the CronJob."""
    ctx = tmp_path_factory.mktemp("image-context")
    shutil.copy(CONTAINERFILE, ctx / "Containerfile")
    # the Containerfile takes out/TARGETARCH/regcred (ELF e_machine: x86-64, AArch64)
    with open(regcred_bin, "rb") as f:
        arch = {0x3e: "amd64", 0xb7: "arm64"}[int.from_bytes(f.read(20)[18:20], "little")]
    (ctx / "out" / arch).mkdir(parents=True)
    shutil.copy(regcred_bin, ctx / "out" / arch / "regcred")
    tag = deployment.container["image"]
    p = subprocess.run([PODMAN, "build", "--timestamp", "0", "--platform", f"linux/{arch}",
                        "-f", "Containerfile", "-t", tag, "."],
                       cwd=ctx, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    yield tag
    subprocess.run([PODMAN, "rmi", "-f", tag], capture_output=True)


def test_refresh_from_the_container_image(workload, deployment, google, image, cluster):
    w, dep = workload, deployment
    mounts = {m["name"]: m["mountPath"] for m in dep.container["volumeMounts"]}
    vols = {v["name"]: v for v in dep.pod_spec["volumes"]}
    tok_mount = mounts[dep.audience_tokens()[0][0]]
    # the API token, CA and namespace where the CronJob's kube-api-access
    # volume puts them (regcred's default --kube-sa-dir)
    api_vol = [n for n, p in mounts.items() if p == SA_DIR]
    assert api_vol and "projected" in vols[api_vol[0]]
    cfg_mount = mounts[[n for n, v in vols.items() if "configMap" in v][0]]
    # the deployed credential config, Google's hosts pointed at the stand-ins,
    # the token file where the CronJob mounts it
    cfg = google.config_for(w.token_file)
    cfg["credential_source"]["file"] = dep.credential_config["credential_source"]["file"]
    cfg_dir = w.dir / "container-config"
    cfg_dir.mkdir()
    (cfg_dir / "credential-config.json").write_text(json.dumps(cfg, indent=2))
    env = {e["name"]: e["value"] for e in dep.container["env"]}
    env.update({"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                "KUBERNETES_SERVICE_PORT": str(cluster.port)})
    sc = dep.container["securityContext"]
    argv = [PODMAN, "run", "--rm", "--network", "host", *run_args(),
            "--user", f"{sc['runAsUser']}:{sc['runAsGroup']}", "--read-only",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "-v", f"{w.sa_dir}:{SA_DIR}:ro",
            "-v", f"{w.token_file.parent}:{tok_mount}:ro",
            "-v", f"{cfg_dir}:{cfg_mount}:ro",
            "-v", f"{google.pki.rsa_root_file}:{ROOT_IN_CONTAINER}:ro"]
    for k, v in env.items():
        argv += ["-e", f"{k}={v}"]
    argv += [image, *dep.args, "--ca-file", ROOT_IN_CONTAINER, "--no-embedded-roots",
             "--timeout", "20"]
    t0 = time.monotonic()
    p = subprocess.run(argv, capture_output=True, timeout=120)
    res = H.Result(argv, p.returncode, p.stdout, p.stderr.decode(errors="replace"),
                   time.monotonic() - t0)
    w.check_hygiene(res)
    assert res.rc == 0, res
    s = w.get_secret()
    assert s is not None and s["type"] == "kubernetes.io/dockerconfigjson"
    assert s["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "regcred"}
    claims = google.sts.verified[-1]
    assert claims["sub"] == google.subject
