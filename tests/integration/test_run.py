"""`regcred run`: refreshes at half of the token's real lifetime, backs off
after failures and recovers, re-reads its files, stops within 1 s on
SIGTERM/SIGINT whether asleep or mid-request, and leaves no child behind."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

import standins as S
from harness import NAMESPACE, SECRET


def _short(world, seconds):
    """Tokens living `seconds` (no impersonation: STS's expires_in rules)."""
    world.sts.expires_in = seconds
    world.write_config(impersonate=False)


def _sts_times(world):
    return [r.time for r in world.sts.requests]


def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return f.read().split()
    except OSError:
        return []


def test_refreshes_at_half_life_then_stops_on_sigterm(regcred, world):
    _short(world, 6)
    run = world.start(regcred, world.args("run"))
    try:
        run.wait_for(lambda: len(world.sts.requests) >= 4, 20, "four refreshes")
    finally:
        res = run.stop()
    assert res.rc == 0, res
    t = _sts_times(world)
    gaps = [b - a for a, b in zip(t, t[1:])]
    # half of 6 s, +-10 % jitter, plus the exchange itself
    assert all(2.5 <= g <= 4.5 for g in gaps[:3]), (gaps, res)
    assert world.kube.get(NAMESPACE, SECRET) is not None
    assert sum("next refresh in" in l for l in res.lines()) >= 3
    assert not any(l.startswith("regcred: error") for l in res.lines()), res


def test_sigterm_while_asleep_and_sigint(regcred, world):
    run = world.start(regcred, world.args("run"))
    try:
        run.wait_for(lambda: any("next refresh in" in l for l in run.lines()), 15,
                     "first refresh")
    finally:
        res = run.stop(signal.SIGINT)
    assert res.rc == 0, res
    assert any("next refresh in 1" in l for l in res.lines()), \
        "a 3599 s token: the next refresh about 1800 s later"


def test_sigterm_mid_request(regcred, world):
    world.sts.inject(S.STALL_TLS, times=None)
    run = world.start(regcred, world.args("run", timeout=30))
    try:
        run.wait_for(lambda: world.sts.connections >= 1, 10, "the stalled request")
        time.sleep(0.3)
        kids = _children(run.p.pid)
        assert kids, "the refresh runs in a child"
    finally:
        res = run.stop()
    assert res.rc == 0, res
    for k in kids:
        assert not os.path.exists(f"/proc/{k}") or \
            open(f"/proc/{k}/stat").read().split()[2] == "Z", "child left running"


def test_failure_backs_off_leaves_secret_then_recovers(regcred, world):
    world.kube.seed(NAMESPACE, SECRET)
    before = world.kube.snapshot(NAMESPACE, SECRET)
    world.sts.inject(S.status_fault(400, {"error": "invalid_grant",
                                          "error_description": "nope"}), times=1)
    run = world.start(regcred, world.args("run"))
    try:
        run.wait_for(lambda: any("backoff" in l for l in run.lines()), 15, "a failure")
        assert world.kube.snapshot(NAMESPACE, SECRET) == before, "Secret left alone"
        assert any("next refresh in 10 s" in l for l in run.lines()), run.lines()
        t0 = time.monotonic()
        run.wait_for(lambda: world.kube.snapshot(NAMESPACE, SECRET) != before, 20,
                     "recovery")
        assert 8 <= time.monotonic() - t0 + 0.5 <= 14
    finally:
        res = run.stop()
    assert res.rc == 0, res
    assert any("regcred: error sts:" in l and "invalid_grant" in l for l in res.lines())


def test_backoff_doubles(regcred, world):
    world.sts.inject(S.status_fault(400, {"error": "invalid_grant",
                                          "error_description": "nope"}), times=None)
    run = world.start(regcred, world.args("run"))
    try:
        run.wait_for(lambda: len(world.sts.requests) >= 2, 20, "two failures")
        run.wait_for(lambda: sum("backoff" in l for l in run.lines()) >= 2, 5, "two backoffs")
    finally:
        res = run.stop()
    waits = [l for l in res.lines() if "next refresh in" in l]
    assert "in 10 s" in waits[0] and "in 20 s" in waits[1], waits


def test_every_file_reread_each_refresh(regcred, world):
    _short(world, 4)
    run = world.start(regcred, world.args("run"))
    try:
        run.wait_for(lambda: len(world.sts.requests) >= 1 and
                     world.kube.get(NAMESPACE, SECRET) is not None, 15, "first refresh")
        world.set_subject_token(S.fake_jwt(sub="system:serviceaccount:bifrost:rotated"))
        new_sa = S.fake_jwt(sub="system:serviceaccount:bifrost:regcred-rotated")
        (world.sa_dir / "token").write_text(new_sa)
        world.kube.retired.add(world.kube.bearer)   # the healing child's, expired
        world.kube.bearer = new_sa
        world.extra_secrets.append(new_sa)
        n = len(world.kube.requests)
        run.wait_for(lambda: len(world.kube.requests) > n, 15, "a refresh after rotation")
    finally:
        res = run.stop()
    assert res.rc == 0, res
    # the STS stand-in refuses any subject token but the file's current one
    # and the Kubernetes one any bearer but the current token: both counted
    # as violations, which stop() checks
    assert not world.violations()


def test_run_config_errors_exit_2_at_once(regcred, world):
    res = world.run(regcred, ["run", "--credential-config", str(world.config_path),
                              "--registry", "x.pkg.dev"])
    assert res.rc == 2, res
    assert "run needs --secret" in res.stderr


# ---- healing: the watch ---------------------------------------------------------

def _started(world, run, n=1):
    run.wait_for(lambda: len(world.kube.watches) >= n, 15, f"{n} watch(es) open")


def _patches(world):
    return [r for r in world.kube.requests if r.method == "PATCH"]


def test_deleted_secret_back_within_5s_same_token(regcred, world):
    run = world.start(regcred, world.args("run"))
    try:
        _started(world, run)
        time.sleep(1)
        assert len(_patches(world)) == 1, "its own apply's event is not a change"
        world.kube.delete(NAMESPACE, SECRET)
        t0 = time.monotonic()
        run.wait_for(lambda: world.kube.get(NAMESPACE, SECRET) is not None, 5, "healed")
        took = time.monotonic() - t0
        assert len(world.sts.requests) == 1, "healed with the current token"
        time.sleep(1)
        assert len(_patches(world)) == 2, "one apply heals, no loop"
    finally:
        res = run.stop()
    assert res.rc == 0, res
    assert took < 5
    assert any("was deleted" in l and "applying it again" in l for l in res.lines()), res
    # the watch asked for metadata only and resumed from regcred's own apply
    assert world.kube.watches[0][2] != ""


def test_changed_data_restored(regcred, world):
    run = world.start(regcred, world.args("run"))
    try:
        _started(world, run)
        ours = world.kube.dockerconfig(NAMESPACE, SECRET)
        world.kube.modify(NAMESPACE, SECRET)
        run.wait_for(lambda: world.kube.dockerconfig(NAMESPACE, SECRET) == ours, 5,
                     "data restored")
    finally:
        res = run.stop()
    assert any("was changed by someone else" in l for l in res.lines()), res


def test_short_token_heals_by_a_new_refresh(regcred, world):
    _short(world, 30)       # under HEAL_MIN_LEFT_S: no reuse
    run = world.start(regcred, world.args("run"))
    try:
        _started(world, run)
        n = len(world.sts.requests)
        world.kube.delete(NAMESPACE, SECRET)
        run.wait_for(lambda: world.kube.get(NAMESPACE, SECRET) is not None, 5, "healed")
        assert len(world.sts.requests) == n + 1, "a new exchange, not the old token"
    finally:
        res = run.stop()
    assert any("a new refresh takes over" in l for l in res.lines()), res


def test_watch_reestablished_after_end_and_410(regcred, world):
    run = world.start(regcred, world.args("run"))
    try:
        _started(world, run)
        world.kube.end_watches()
        _started(world, run, 2)
        assert world.kube.watches[1][2] == world.kube.watches[0][2] != "", \
            "the server's end: resumed from the same resourceVersion"
        patches = len(_patches(world))
        # every resourceVersion so far is too old: the next watch gets 410
        world.kube.compacted = world.kube._rv + 1
        world.kube.end_watches()
        run.wait_for(lambda: len(_patches(world)) == patches + 1, 10,
                     "an apply after 410 Gone")
        assert world.kube.watches[3][2] == "", "the 410'd watch opened again from now"
        time.sleep(0.5)
        world.kube.delete(NAMESPACE, SECRET)
        run.wait_for(lambda: world.kube.get(NAMESPACE, SECRET) is not None, 5,
                     "healed after the restarts")
    finally:
        res = run.stop()
    assert res.rc == 0, res
    assert len(_patches(world)) == patches + 2
    assert any("410 Gone" in l and "applied it again" in l for l in res.lines()), res
    assert len(world.kube.watches) == 4, "no watch after the deletion: healed on the open one"


@pytest.mark.parametrize("as_status", [False, True], ids=["event", "status"])
def test_deletion_lost_to_410_is_healed(regcred, world, as_status):
    """A deletion the watch never saw (its event compacted away: the
    resumed watch gets 410 Gone, as an ERROR event or as the HTTP status)
    is healed: regcred watches from now, where the Secret's absence sends
    nothing, and applies again."""
    world.kube.gone_as_status = as_status
    run = world.start(regcred, world.args("run"))
    try:
        _started(world, run)
        with world.kube._lock:      # gone, and its event with it
            del world.kube.store[(NAMESPACE, SECRET)]
        world.kube.compacted = world.kube._rv + 1
        world.kube.end_watches()
        run.wait_for(lambda: world.kube.get(NAMESPACE, SECRET) is not None, 10,
                     "applied again after 410 Gone")
    finally:
        res = run.stop()
    assert res.rc == 0, res
    rvs = [w[2] for w in world.kube.watches]
    assert len(rvs) == 3 and rvs[0] == rvs[1] != "" and rvs[2] == "", \
        f"resumed, 410 Gone, then from now: {rvs}"


def test_watch_broken_every_time_backs_off(regcred, world):
    """A server that opens the watch and then sends an event regcred
    refuses (an empty resourceVersion, which would restart the watch from
    now) is asked again after 1, 2, 4 s..., not every second; the error
    names the event and the Secret stays as applied."""
    world.kube.watch_junk = (json.dumps({"type": "MODIFIED", "object": {
        "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
        "metadata": {"name": SECRET, "namespace": NAMESPACE,
                     "resourceVersion": ""}}}) + "\n").encode()
    run = world.start(regcred, world.args("run"))
    try:
        _started(world, run)
        time.sleep(4.5)
        n = len(world.kube.watches)
        assert 2 <= n <= 4, f"backoff between broken watches ({n} in ~4.5 s)"
        assert world.kube.get(NAMESPACE, SECRET) is not None
    finally:
        res = run.stop()
    assert res.rc == 0, res
    assert any("watch event with an empty resourceVersion" in l for l in res.lines()), res
    assert not _patches(world)[1:], "nothing healed: the event was refused"


def test_watch_forbidden_backs_off_refresh_still_works(regcred, world):
    world.kube.watch_allowed = False
    run = world.start(regcred, world.args("run"))
    try:
        run.wait_for(lambda: len(world.kube.watches) >= 2 or any(
            "cannot watch" in l for l in run.lines()), 10, "a refused watch")
        time.sleep(2.5)
        n = sum("cannot watch" in l for l in run.lines())
        assert 1 <= n <= 3, f"backoff between refused watches ({n} in ~3 s)"
    finally:
        res = run.stop()
    assert any("the Role needs watch on this Secret" in l for l in res.lines())
    assert world.kube.get(NAMESPACE, SECRET) is not None


def test_three_namespaces_one_forbidden_others_healed(regcred, world):
    world.kube.namespaces |= {"team-a", "team-b", "team-c"}
    world.kube.forbidden = {"team-b"}
    run = world.start(regcred, world.args("run", namespace=["team-a", "team-b", "team-c"]))
    try:
        _started(world, run, 2)
        world.kube.delete("team-c", SECRET)
        run.wait_for(lambda: world.kube.get("team-c", SECRET) is not None, 5, "healed")
        assert any("next refresh in 10 s" in l for l in run.lines()), "exit-4 class: backoff"
    finally:
        res = run.stop()
    assert {w[0] for w in world.kube.watches} == {"team-a", "team-c"}


# ---- probes and metrics ----------------------------------------------------------

def _free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _status(world, regcred, path, *extra):
    return world.run(regcred, ["status", "--status-file", str(path)] + list(extra))


def test_status_file_written_and_flips_when_refreshes_stop(regcred, world):
    path = world.dir / "status.json"
    world.kube.namespaces |= {"team-a"}
    world.kube.forbidden = {"team-a"}
    run = world.start(regcred, world.args("run", namespace=[NAMESPACE, "team-a"],
                                          extra=["--status-file", str(path)]))
    try:
        run.wait_for(path.exists, 15, "the status file")
        doc = json.loads(path.read_text())
        ns = {n["name"]: n for n in doc["namespaces"]}
        assert doc["secret"] == SECRET and doc["refresh_failed"] == 1
        assert ns[NAMESPACE]["last_success"] > 0 and ns[NAMESPACE]["expiry"] > time.time() + 3000
        assert ns["team-a"]["last_success"] == 0 and "HTTP 403" in ns["team-a"]["last_error"]
        # the forbidden namespace never succeeded: unhealthy, named
        res = _status(world, regcred, path)
        assert res.rc == 1 and "team-a" in res.stderr, res
    finally:
        run.stop()


def test_status_healthy_then_stale(regcred, world):
    path = world.dir / "status.json"
    run = world.start(regcred, world.args("run", extra=["--status-file", str(path)]))
    try:
        run.wait_for(path.exists, 15, "the status file")
        res = _status(world, regcred, path, "--max-age", "2")
        assert res.rc == 0, res
    finally:
        run.stop()
    time.sleep(3)       # no refresh since: the last success ages
    res = _status(world, regcred, path, "--max-age", "2")
    assert res.rc == 1 and "ago" in res.stderr, res


def test_metrics_served_while_running(regcred, world):
    from prometheus_client.parser import text_string_to_metric_families
    import urllib.request
    port = _free_port()
    run = world.start(regcred, world.args("run", extra=["--metrics-addr", f"127.0.0.1:{port}"]))
    try:
        _started(world, run)
        world.kube.end_watches()
        _started(world, run, 2)
        time.sleep(0.3)
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        fams = {f.name: f for f in text_string_to_metric_families(body.decode())}
        ok = [s for s in fams["regcred_refresh"].samples if s.labels.get("result") == "ok"]
        assert ok and ok[0].value == 1
        exp = fams["regcred_token_expiry_timestamp_seconds"].samples
        assert exp[0].labels == {"namespace": NAMESPACE, "secret": SECRET}
        assert exp[0].value > time.time() + 3000
        assert fams["regcred_watch_restarts"].samples[0].value >= 1
        assert fams["regcred_last_success_timestamp_seconds"].samples[0].value > 0
        h = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert h.status == 200
        # the refresh child does not hold the listener
        for c in _children(run.p.pid):
            fds = os.listdir(f"/proc/{c}/fd")
            socks = [os.readlink(f"/proc/{c}/fd/{f}") for f in fds]
            inodes = {l for l in socks if l.startswith("socket:")}
            parent = {os.readlink(f"/proc/{run.p.pid}/fd/{f}")
                      for f in os.listdir(f"/proc/{run.p.pid}/fd")}
            assert not (inodes & {l for l in parent if l.startswith("socket:")}), \
                "the child inherited the metrics listener"
    finally:
        res = run.stop()
    assert res.rc == 0, res


def test_metrics_addr_in_use_is_exit_2(regcred, world):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    try:
        res = world.run(regcred, world.args("run", extra=[
            "--metrics-addr", f"127.0.0.1:{s.getsockname()[1]}"]))
    finally:
        s.close()
    assert res.rc == 2 and "--metrics-addr" in res.stderr, res
    assert world.network_requests() == 0


def test_expired_api_token_in_healing_child_brings_a_refresh(regcred, world):
    """The healing child keeps the service-account token it read; when the
    API refuses it (a bound token expired), a new refresh reads it again."""
    run = world.start(regcred, world.args("run"))
    try:
        _started(world, run)
        n = len(world.sts.requests)
        new_sa = S.fake_jwt(sub="system:serviceaccount:bifrost:regcred-next")
        world.extra_secrets.append(new_sa)
        (world.sa_dir / "token").write_text(new_sa)
        world.kube.retired.add(world.kube.bearer)   # expired: refused from now on
        world.kube.bearer = new_sa
        world.kube.end_watches()
        run.wait_for(lambda: len(world.sts.requests) > n, 10, "a new refresh")
        w = len(world.kube.watches)
        run.wait_for(lambda: len(world.kube.watches) > w, 10, "a watch with the new token")
        world.kube.delete(NAMESPACE, SECRET)
        run.wait_for(lambda: world.kube.get(NAMESPACE, SECRET) is not None, 5, "healed")
    finally:
        res = run.stop()
    assert any("refused this refresh's service-account token" in l for l in res.lines()), res
    assert any("HTTP 401" in l for l in res.lines())
