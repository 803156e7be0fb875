"""The lockdown between the phases (sandbox.c): after every file is read
and every host resolved, no file can be opened and no system call outside
the allow-list made. Proven with out/regcred-locktest, the release build
plus a hook that tries what is forbidden right after the lockdown
(REGCRED_LOCKTEST_BIN; build.sh builds it for `./build.sh test`); the rest
of the integration suite runs with the lockdown on in every binary.
"""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def locktest():
    b = os.environ.get("REGCRED_LOCKTEST_BIN") or str(REPO / "out" / "regcred-locktest")
    if not os.access(b, os.X_OK):
        if os.environ.get("REGCRED_LOCKTEST_BIN"):
            pytest.fail(f"{b} (REGCRED_LOCKTEST_BIN) is not executable")
        pytest.skip("out/regcred-locktest not built (./build.sh test builds it)")
    return b


def run(world, binary, what):
    p = subprocess.run([binary] + [str(a) for a in world.args()], cwd=world.dir,
                       env={} if what is None else {"REGCRED_LOCKTEST": what},
                       capture_output=True, timeout=30)
    return p.returncode, p.stderr.decode(errors="replace")


@pytest.mark.parametrize("what", ["open", "unix"])
def test_forbidden_call_after_lockdown_dies_by_sigsys(world, locktest, what):
    rc, err = run(world, locktest, what)
    assert rc == -signal.SIGSYS, (rc, err)
    assert "locktest" not in err, err        # it never got to report
    assert world.kube.connections == 0 and world.sts.connections == 0


def test_landlock_alone_refuses_open(world, locktest):
    rc, err = run(world, locktest, "landlock")
    if "this kernel has no Landlock" in err:
        pytest.skip("no Landlock in this kernel (regcred says so and goes on)")
    assert rc == 97, (rc, err)
    assert "regcred: info lockdown: locktest landlock: Permission denied" in err, err


def test_locktest_build_without_the_hook_is_a_normal_run(world, locktest):
    """The hook changes nothing else: unset, the test build refreshes."""
    rc, err = run(world, locktest, None)
    assert rc == 0, err
    assert world.kube.connections == 1
