"""A watch on one Secret (as the admin), held in a thread, and a reader that
polls it: what an image pull would see while regcred refreshes."""
from __future__ import annotations

import json
import socket
import threading
import time
import urllib.parse


class SecretWatch:
    """GET .../secrets?watch=1&fieldSelector=metadata.name=NAME from a
    resourceVersion; records (type, resourceVersion) of every event."""

    def __init__(self, cluster, ns: str, name: str, resource_version: str):
        q = urllib.parse.urlencode({"watch": "1", "fieldSelector": f"metadata.name={name}",
                                    "resourceVersion": resource_version, "timeoutSeconds": "1800"})
        self.path = f"/api/v1/namespaces/{ns}/secrets?{q}"
        self.cluster = cluster
        self.events: list = []
        self.errors: list = []
        self._cond = threading.Condition()
        self._conn = None
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="secret-watch", daemon=True)

    def __enter__(self):
        self._conn = self.cluster.connection(timeout=None)
        self._conn.request("GET", self.path, headers={"Accept": "application/json"})
        self._resp = self._conn.getresponse()
        if self._resp.status != 200:
            raise AssertionError(f"watch: HTTP {self._resp.status}: {self._resp.read()!r}")
        self._thread.start()
        return self

    def _run(self):
        try:
            while True:
                line = self._resp.readline()
                if not line:
                    break
                ev = json.loads(line)
                obj = ev.get("object", {})
                with self._cond:
                    self.events.append((ev["type"], obj.get("metadata", {}).get("resourceVersion")))
                    if ev["type"] == "ERROR":
                        self.errors.append(obj)
                    self._cond.notify_all()
        except Exception as e:     # noqa: BLE001 - reported by the test
            if not self._stopping:
                self.errors.append(repr(e))
        finally:
            with self._cond:
                self._cond.notify_all()

    def wait_for_rv(self, rv: str, timeout: float = 30):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(r == rv for _, r in self.events):
                left = deadline - time.monotonic()
                assert left > 0 and self._thread.is_alive(), \
                    f"watch never saw resourceVersion {rv}: {self.events[-5:]} {self.errors}"
                self._cond.wait(left)

    def __exit__(self, *exc):
        self._stopping = True
        try:
            self._conn.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass
        self._conn.close()
        self._thread.join(10)


class SecretPoller:
    """GETs the Secret in a loop until stopped; records every status."""

    def __init__(self, cluster, path: str):
        self.cluster, self.path = cluster, path
        self.statuses: dict = {}
        self.failures: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="secret-poller", daemon=True)

    def _run(self):
        conn = self.cluster.connection(timeout=30)
        while not self._stop.is_set():
            try:
                conn.request("GET", self.path, headers={"Accept": "application/json"})
                r = conn.getresponse()
                body = r.read()
            except OSError as e:
                self.failures.append(repr(e))
                conn.close()
                conn = self.cluster.connection(timeout=30)
                continue
            self.statuses[r.status] = self.statuses.get(r.status, 0) + 1
            if r.status != 200:
                self.failures.append((r.status, body[:300]))
        conn.close()

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)
