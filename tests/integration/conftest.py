"""pytest wiring: the binaries under test, the session PKI, one World per test.

REGCRED_BINS: space-separated paths of the regcred builds to test (release
musl, UBSan-trap musl, ASan glibc, the arm64 release binary under qemu-user);
default out/regcred of this repo. Every test taking the `regcred` fixture
runs once per binary (id = basename, with its folder when two share one:
out-regcred, arm64-regcred).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import certs
from harness import NAMESPACE, SECRET, World

REPO = Path(__file__).resolve().parents[2]


def _bins() -> list:
    env = os.environ.get("REGCRED_BINS", "").split()
    return env or [str(REPO / "out" / "regcred")]


def pytest_generate_tests(metafunc):
    if "regcred" in metafunc.fixturenames:
        bins = _bins()
        names = [os.path.basename(b) for b in bins]
        # out/regcred and out/arm64/regcred: the folder tells them apart
        ids = [n if names.count(n) == 1 else
               f"{os.path.basename(os.path.dirname(os.path.abspath(b)))}-{n}"
               for n, b in zip(names, bins)]
        metafunc.parametrize("regcred", bins, ids=ids, indirect=True)


@pytest.fixture
def regcred(request):
    path = request.param
    if not os.access(path, os.X_OK):
        if os.environ.get("REGCRED_BINS"):
            pytest.fail(f"{path} (from REGCRED_BINS) is not an executable file")
        pytest.skip(f"{path} not built (run ./build.sh)")
    return path


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return certs.make_pki(str(tmp_path_factory.mktemp("pki")))


@pytest.fixture
def world(pki, tmp_path):
    w = World(pki, tmp_path / "world")
    yield w
    w.close()


@pytest.fixture
def seeded(world):
    """A pre-existing Secret that a failed run must leave byte-identical,
    touched by nothing but (refused) PATCH requests."""
    world.kube.seed(NAMESPACE, SECRET)
    snap = world.kube.snapshot(NAMESPACE, SECRET)
    yield snap
    assert world.kube.snapshot(NAMESPACE, SECRET) == snap, "Secret changed by a failed run"
    assert set(world.kube.methods()) <= {"PATCH"}, world.kube.methods()


@pytest.fixture
def az(pki, tmp_path):
    """The Azure world in a private network namespace (azure_world.py).
    Skips only where namespaces cannot be made (not root, tools missing)."""
    import netns
    why = netns.available()
    if why:
        pytest.skip(why)
    from azure_world import AzureWorld
    a = AzureWorld(pki, tmp_path / "az")
    yield a
    a.close()


@pytest.fixture
def az_seeded(az):
    """az with a pre-existing Secret that a failed run must leave as it was."""
    az.world.kube.seed(NAMESPACE, SECRET)
    snap = az.world.kube.snapshot(NAMESPACE, SECRET)
    yield snap
    assert az.world.kube.snapshot(NAMESPACE, SECRET) == snap, "Secret changed by a failed run"
    assert set(az.world.kube.methods()) <= {"PATCH"}, az.world.kube.methods()


@pytest.fixture
def offline(world):
    """world, but regcred runs in an empty network namespace: for configs
    that name 169.254.169.254 and must be refused before any traffic."""
    import shutil
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for an empty network namespace")
    world.run_prefix = [shutil.which("unshare"), "--net"]
    return world


# ---- real proxies (tests/integration/test_proxy.py) --------------------------

import proxies as P  # noqa: E402  (real tinyproxy and squid: test_proxy.py)

from proxies import SQUID_AUTH, TINY_AUTH, record_peers  # noqa: E402


def _need_proxies():
    why = P.available()
    if why:
        pytest.skip(why)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """An open tinyproxy (CONNECT to any port), shared by the session: tests
    look only for their own stand-ins' ports in its log."""
    _need_proxies()
    p = P.Tinyproxy(tmp_path_factory.mktemp("tinyproxy"))
    yield p
    p.stop()


@pytest.fixture(scope="session")
def tiny_auth(tmp_path_factory):
    _need_proxies()
    p = P.Tinyproxy(tmp_path_factory.mktemp("tinyproxy-auth"), auth=TINY_AUTH)
    yield p
    p.stop()


@pytest.fixture(scope="session")
def squid(tmp_path_factory):
    _need_proxies()
    p = P.Squid(tmp_path_factory.mktemp("squid") / "d")
    yield p
    p.remove()


@pytest.fixture(scope="session")
def squid_auth(tmp_path_factory):
    _need_proxies()
    p = P.Squid(tmp_path_factory.mktemp("squid-auth") / "d", auth=SQUID_AUTH)
    yield p
    p.remove()


@pytest.fixture
def own_tiny(tmp_path):
    """A tinyproxy of this test's own (to kill it mid-run)."""
    _need_proxies()
    p = P.Tinyproxy(tmp_path / "own-tinyproxy")
    yield p
    p.stop()


@pytest.fixture
def make_squid(tmp_path):
    """Factory for a squid of this test's own (deny rules naming its ports)."""
    _need_proxies()
    made = []

    def make(**kw):
        p = P.Squid(tmp_path / f"squid-{len(made)}", **kw)
        made.append(p)
        return p
    yield make
    for p in made:
        p.remove()


@pytest.fixture
def pworld(world):
    """world with peers recorded on STS, IAM and Kubernetes."""
    for s in (world.sts, world.iam, world.kube):
        record_peers(s)
    return world
