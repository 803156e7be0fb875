"""pytest wiring for the e2e tests: a real control plane (etcd +
kube-apiserver built by tests/e2e/build.sh), deploy/ applied through
tests/e2e/overlay/, Google STS/IAM stand-ins (STS verifying the real
service-account token against the API server's JWKS), and regcred run as the
CronJob's container would run it.

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
from e2e_world import Deployment, Workload, make_google  # noqa: E402


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
