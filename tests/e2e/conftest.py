"""pytest wiring for the e2e tests: a real control plane (etcd +
kube-apiserver built by tests/e2e/build.sh), deploy/ applied through
tests/e2e/overlay/ (the base) and through copies of deploy/overlays/aks-issuer
and deploy/overlays/entra made as deploy/README.md says (tests/e2e/params/),
Google STS/IAM stand-ins (STS verifying the real service-account token
against the API server's JWKS, or for the entra overlay an Entra ID stand-in
doing so and an STS trusting only Entra), and regcred run as the CronJob's
container would run it.

REGCRED_BIN: the regcred binary (default out/regcred of this repo).
E2E_KUBE_APISERVER / E2E_ETCD: control-plane binaries (default: the cache of
tests/e2e/build.sh). Missing binaries make the tests FAIL, never skip.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "tests" / "integration"))
sys.path.insert(0, str(HERE))

import certs  # noqa: E402  (tests/integration)
import kubecluster as K  # noqa: E402
from e2e_world import (Deployment, EntraGoogle, EntraWorkload, Workload,  # noqa: E402
                       copy_overlay, make_google)

OVERLAY_NAMESPACES = {"aks-issuer": "regcred-e2e-aks", "entra": "regcred-e2e-entra"}


@pytest.fixture(scope="session")
def regcred_bin() -> str:
    path = os.environ.get("REGCRED_BIN") or str(REPO / "out" / "regcred")
    if not os.access(path, os.X_OK):
        pytest.fail(f"regcred binary {path} is not an executable file (run ./build.sh)")
    return path


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    try:
        api, etcd = K.control_plane_binaries()
    except K.ControlPlaneMissing as e:
        pytest.fail(str(e))
    c = K.Cluster(tmp_path_factory.mktemp("cluster"), api, etcd)
    try:
        c.start()
    except BaseException:
        logs = c.logs(200)
        c.stop()
        pytest.fail(f"control plane did not start\n{logs}")
    _clusters.append(c)
    yield c
    c.stop()
    _clusters.remove(c)


_clusters: list = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, attach the control plane's recent logs to the report."""
    rep = yield
    if rep.failed and _clusters:
        rep.sections.append(("control plane logs", _clusters[0].logs(60)))
    return rep


@pytest.fixture(scope="session")
def deployment(cluster):
    """deploy/base through tests/e2e/overlay/, applied with kubectl apply -k."""
    return Deployment.apply(cluster, HERE / "overlay")


@pytest.fixture(scope="session")
def google(cluster, deployment, tmp_path_factory):
    pki = certs.make_pki(str(tmp_path_factory.mktemp("google-pki")))
    g = make_google(pki, cluster, deployment)
    yield g
    g.close()


@pytest.fixture
def workload(cluster, deployment, google, regcred_bin, tmp_path):
    """regcred's view of the cluster, with fresh tokens; the Secret absent."""
    w = Workload(cluster, deployment, google, regcred_bin, tmp_path / "pod")
    w.delete_secret()
    google.reset()
    yield w
    w.delete_secret()


# -- the two overlays of deploy/overlays, each in its own namespace -------------

@pytest.fixture(scope="session")
def overlay_copies(tmp_path_factory) -> dict:
    """{overlay name: its copy with the e2e's parameters}."""
    d = tmp_path_factory.mktemp("overlays")
    return {n: copy_overlay(n, d, ns) for n, ns in OVERLAY_NAMESPACES.items()}


@pytest.fixture(scope="session")
def aks_deployment(cluster, overlay_copies):
    return Deployment.apply(cluster, overlay_copies["aks-issuer"])


@pytest.fixture(scope="session")
def entra_deployment(cluster, overlay_copies):
    return Deployment.apply(cluster, overlay_copies["entra"])


@pytest.fixture(scope="session")
def overlay_pki(tmp_path_factory):
    return certs.make_pki(str(tmp_path_factory.mktemp("overlay-pki")))


@pytest.fixture(scope="session")
def aks_google(cluster, aks_deployment, overlay_pki):
    g = make_google(overlay_pki, cluster, aks_deployment)
    yield g
    g.close()


@pytest.fixture(scope="session")
def entra_google(cluster, entra_deployment, overlay_pki):
    g = EntraGoogle(overlay_pki, cluster, entra_deployment)
    yield g
    g.close()


@pytest.fixture(scope="session")
def entra_capable_bin(regcred_bin) -> str:
    """The binary, if it has the Entra hop: an older one would not know the
    overlay's --azure-* flags."""
    import subprocess
    p = subprocess.run([regcred_bin, "--help"], capture_output=True, text=True, timeout=10)
    if "--azure-token-file" not in p.stdout + p.stderr:
        pytest.fail(f"{regcred_bin} has no --azure-token-file: rebuild it (./build.sh)")
    return regcred_bin


@pytest.fixture
def aks_workload(cluster, aks_deployment, aks_google, regcred_bin, tmp_path):
    w = Workload(cluster, aks_deployment, aks_google, regcred_bin, tmp_path / "pod")
    w.delete_secret()
    aks_google.reset()
    yield w
    w.delete_secret()


@pytest.fixture
def entra_workload(cluster, entra_deployment, entra_google, entra_capable_bin, tmp_path):
    w = EntraWorkload(cluster, entra_deployment, entra_google, entra_capable_bin, tmp_path / "pod")
    w.delete_secret()
    entra_google.reset()
    yield w
    w.delete_secret()
