"""The Secret is never absent: a watch across 200 refreshes sees only
MODIFIED events and a reader polling it never gets 404."""
from __future__ import annotations

import os

from watch import SecretPoller, SecretWatch

REFRESHES = int(os.environ.get("E2E_REFRESHES", "200"))


def test_watch_and_reader_across_consecutive_refreshes(workload):
    w = workload
    with SecretWatch(w.cluster, w.ns, w.secret, "0") as watch:
        res = w.run()
        assert res.rc == 0, res
        first = w.get_secret()
        watch.wait_for_rv(first["metadata"]["resourceVersion"])
        with SecretPoller(w.cluster, w.secret_path) as poller:
            for i in range(REFRESHES):
                res = w.run()
                assert res.rc == 0, f"refresh {i + 1}\n{res}"
            last = w.get_secret()
            watch.wait_for_rv(last["metadata"]["resourceVersion"])
    types = [t for t, _ in watch.events]
    assert not watch.errors, watch.errors
    assert set(types) <= {"ADDED", "MODIFIED"}, types
    assert types.count("ADDED") == 1 and types[0] == "ADDED", types[:3]
    # every refresh carries a new token, so every one is a modification
    assert types.count("MODIFIED") == REFRESHES, (types.count("MODIFIED"), REFRESHES)
    assert last["metadata"]["uid"] == first["metadata"]["uid"]
    assert not poller.failures, poller.failures[:5]
    assert set(poller.statuses) == {200} and poller.statuses[200] >= REFRESHES, poller.statuses


def test_the_watch_does_see_the_old_jobs_delete_then_create(workload):
    """Control: the same instruments catch the old job's window."""
    w = workload
    res = w.run()
    assert res.rc == 0, res
    rv = w.get_secret()["metadata"]["resourceVersion"]
    with SecretWatch(w.cluster, w.ns, w.secret, rv) as watch:
        w.cluster.kubectl("delete", "secret", w.secret, "-n", w.ns, "--ignore-not-found")
        w.cluster.kubectl("create", "secret", "docker-registry", w.secret, "-n", w.ns,
                          "--docker-server=europe-docker.pkg.dev",
                          "--docker-username=oauth2accesstoken", "--docker-password=x")
        watch.wait_for_rv(w.get_secret()["metadata"]["resourceVersion"])
    assert [t for t, _ in watch.events] == ["DELETED", "ADDED"], watch.events
