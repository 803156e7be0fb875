"""The lockdown between the phases (sandbox.c): after every file is read
and every host resolved, no file can be opened and no system call outside
the allow-list made. Proven with out/regcred-locktest, the release build
plus a hook that tries what is forbidden right after the lockdown
(REGCRED_LOCKTEST_BIN; build.sh builds it for `./build.sh test`); the rest
of the integration suite runs with the lockdown on in every binary.

Under qemu-user (the arm64 binary on an amd64 host) there is no lockdown to
prove: qemu answers seccomp(2) with ENOSYS and PR_SET_SECCOMP with EINVAL
(a guest's filter would also filter qemu's own calls), and has no Landlock
system calls. regcred says so in one `info lockdown` line and goes on;
test_lockdown_reported_as_it_is checks that line is there exactly when the
binary runs emulated. That the aarch64 filter itself is right (audit arch,
aarch64 system-call numbers) is checked by tests/unit/test_sandbox.c, which
runs it through a BPF interpreter on both architectures.
"""
from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

import harness as H

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
    p = subprocess.run(H.command(binary) + [str(a) for a in world.args()], cwd=world.dir,
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


NO_SECCOMP = "regcred: info lockdown: NO seccomp here"


def test_lockdown_reported_as_it_is(regcred, world):
    """Natively the seccomp filter is installed (no NO-seccomp line; the
    tests above prove it bites); under qemu-user it cannot be, and regcred
    says so rather than pretending. Either way the refresh works."""
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    if H.is_foreign(regcred):
        assert NO_SECCOMP in res.stderr, res
        assert "this kernel has no Landlock" in res.stderr, res
    else:
        assert NO_SECCOMP not in res.stderr, res
