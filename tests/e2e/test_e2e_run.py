"""`regcred run` and deploy/components/run against the real kube-apiserver.

The aks-issuer overlay with the run component (Deployment, ClusterRole,
RoleBinding in regcred's namespace) and deploy/namespace-access copied for
two more namespaces, all applied with one `kubectl apply -k`; a third
namespace gets no RoleBinding. regcred runs as the Deployment's container
(its args, with the test-only flags of the harness). Shown here:
- the watch and self-heal: a `kubectl delete` of the Secret is undone within
  5 s, a foreign change of its data too, both with the token already held;
- E2E_RUN_REFRESHES (200) consecutive refreshes in run mode (2-second tokens,
  so one a second) while a separate client watches and polls the Secret: no
  DELETED event, every GET 200, one UID throughout;
- --service-account default keeps a foreign imagePullSecrets entry and
  appends the Secret once; what the API server answers to regcred's
  read-patch (200, the object, resourceVersion unchanged) and to a JSON
  Patch whose `test` fails (422, reason Invalid);
- the ClusterRole's least privilege (`kubectl auth can-i`) and a namespace
  without a RoleBinding refused while the others are written;
- the component's objects as applied: one replica, Recreate, exec probes on
  `regcred status`, admitted as PodSecurity `restricted` with no warnings.
"""
from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path

import pytest
import yaml

import harness as H
from e2e_world import REPO, RunDeployment, Workload, copy_overlay, make_google
from watch import SecretPoller, SecretWatch

RUN_NS = "regcred-e2e-run"
BOUND = ("regcred-e2e-team-a", "regcred-e2e-team-b")     # namespace-access applied
UNBOUND = "regcred-e2e-team-c"                          # no RoleBinding
REFRESHES = int(os.environ.get("E2E_RUN_REFRESHES", "200"))
FOREIGN = "someone-elses-pull-secret"
# flags of the status/metrics work (issue 10): used when the binary has them
STATUS_FLAGS = ("--status-file", "--metrics-addr")


def _params(path: Path) -> dict:
    return dict(l.split("=", 1) for l in path.read_text().splitlines()
                if l and not l.startswith("#"))


def _access_copy(dest: Path, target: str, home: str, sa: str) -> Path:
    """deploy/namespace-access as deploy/README.md says: a copy per target
    namespace, `namespace:` and params.env set."""
    import shutil
    d = dest / f"access-{target}"
    shutil.copytree(REPO / "deploy" / "namespace-access", d)
    k = (d / "kustomization.yaml").read_text()
    assert k.count("\nnamespace: team-a\n") == 1
    (d / "kustomization.yaml").write_text(k.replace("\nnamespace: team-a\n", f"\nnamespace: {target}\n"))
    p = (d / "params.env").read_text()
    for key, val in (("REGCRED_NAMESPACE", home), ("SERVICE_ACCOUNT", sa)):
        assert p.count(f"\n{key}=") == 1, key
        p = "\n".join(f"{key}={val}" if l.startswith(f"{key}=") else l for l in p.splitlines()) + "\n"
    (d / "params.env").write_text(p)
    return d


class RunWorld:
    def __init__(self, cluster, d: Path, pki, binary: str):
        self.cluster, self.dir, self.binary = cluster, d, binary
        self.overlay = copy_overlay("aks-issuer", d, RUN_NS, components=("run",))
        self.sa_name = _params(self.overlay / "params.env")["SERVICE_ACCOUNT"]
        for ns in BOUND + (UNBOUND,):
            cluster.kubectl("create", "namespace", ns)
        access = [_access_copy(d, ns, RUN_NS, self.sa_name) for ns in BOUND]
        umbrella = d / "all"
        umbrella.mkdir()
        (umbrella / "kustomization.yaml").write_text(
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n" +
            "".join(f"  - {os.path.relpath(p, umbrella)}\n" for p in [self.overlay] + access))
        self.umbrella = umbrella
        p = cluster.kubectl("apply", "-k", str(umbrella))
        self.apply_stderr = p.stderr_text
        got = cluster.kubectl_json("get", "-k", str(self.overlay))
        self.dep = RunDeployment(self.overlay, {o["kind"]: o for o in got["items"]}, p.stderr_text)
        self.user = self.dep.username
        # no controller-manager here: the ServiceAccount `default` is made
        # as it would be, in every namespace
        for ns in (RUN_NS,) + BOUND + (UNBOUND,):
            cluster.kubectl("create", "serviceaccount", "default", "-n", ns)
        self.google = make_google(pki, cluster, self.dep)
        help_text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
        self.has_status = "--status-file" in help_text

    def close(self):
        self.google.close()


@pytest.fixture(scope="session")
def run_world(cluster, tmp_path_factory, regcred_bin):
    import certs
    pki = certs.make_pki(str(tmp_path_factory.mktemp("run-pki")))
    rw = RunWorld(cluster, tmp_path_factory.mktemp("run"), pki, regcred_bin)
    yield rw
    rw.close()


class RunWorkload(Workload):
    """regcred as the Deployment's container. The status/metrics flags go
    when the binary lacks them (written elsewhere for issue 10), and the
    status file goes into the test's folder when it has them."""

    def __init__(self, rw: RunWorld, d: Path):
        self.rw = rw
        super().__init__(rw.cluster, rw.dep, rw.google, rw.binary, d)

    def args(self, extra=(), args=None) -> list:
        a, out = list(self.dep.args if args is None else args), []
        i = 0
        while i < len(a):
            flag = a[i].split("=", 1)[0]
            if flag in STATUS_FLAGS:
                takes = "=" not in a[i]
                if self.rw.has_status and flag == "--status-file":
                    out.append(f"--status-file={self.dir / 'status.json'}")
                i += 2 if takes else 1
                continue
            out.append(a[i])
            i += 1
        return super().args(extra, out)

    def start(self, extra=(), args=None) -> H.Running:
        env = self.env()
        env.update({k: os.environ[k] for k in H.PASS_ENV if k in os.environ})
        return H.Running(self, [self.binary] + self.args(extra, args), env)

    def short_tokens(self, seconds: int):
        """STS tokens living `seconds`, no impersonation (STS's expires_in
        is then the token's lifetime)."""
        cfg = self.google.config_for(self.token_file)
        del cfg["service_account_impersonation_url"]
        cfg.pop("service_account_impersonation", None)
        self.config_path.write_text(json.dumps(cfg, indent=2))
        self.google.sts.expires_in = seconds

    def secret_in(self, ns: str) -> dict | None:
        st, body = self.cluster.request("GET", f"/api/v1/namespaces/{ns}/secrets/{self.secret}")
        if st == 404:
            return None
        assert st == 200, (st, body)
        return body


@pytest.fixture
def rw_workload(run_world, tmp_path):
    w = RunWorkload(run_world, tmp_path / "pod")
    for ns in (RUN_NS,) + BOUND + (UNBOUND,):
        st, body = w.cluster.request("DELETE", f"/api/v1/namespaces/{ns}/secrets/{w.secret}")
        assert st in (200, 404), (st, body)
    run_world.google.reset()
    run_world.google.sts.expires_in = 3599
    yield w
    run_world.google.sts.expires_in = 3599
    w.delete_secret()


def _status(w) -> subprocess.CompletedProcess:
    """The Deployment's probe command, on the test's status file."""
    probe = w.dep.container["readinessProbe"]["exec"]["command"]
    assert probe[0] == "/regcred" and probe[1:3] == ["status", "--status-file"], probe
    argv = [w.binary] + probe[1:3] + [str(w.dir / "status.json")] + probe[4:]
    return subprocess.run(argv, capture_output=True, text=True, timeout=10)


def _metrics(port: int) -> str:
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("GET", "/metrics")
        r = c.getresponse()
        assert r.status == 200, r.status
        return r.read().decode()
    finally:
        c.close()


def _dockercfg(secret: dict) -> str:
    return secret["data"][".dockerconfigjson"]


def _data_managers(secret: dict) -> set:
    return {m["manager"] for m in secret["metadata"].get("managedFields", [])
            if "f:data" in m.get("fieldsV1", {})}


# ---- (a) the watch and self-heal ----------------------------------------------

def test_run_heals_a_deleted_and_a_changed_secret(rw_workload):
    w = rw_workload
    run = w.start()
    try:
        run.wait_for(lambda: w.get_secret() is not None, 30, "the first apply")
        run.wait_for(lambda: any("next refresh in" in l for l in run.lines()), 10,
                     "the refresh reported")
        first = w.get_secret()
        exchanges = len(w.google.sts.requests)
        t0 = time.monotonic()
        w.cluster.kubectl("delete", "secret", w.secret, "-n", w.ns, "--wait=false")
        run.wait_for(lambda: w.get_secret() is not None, 5, "the deleted Secret back")
        took_delete = time.monotonic() - t0
        healed = w.get_secret()
        assert healed["metadata"]["uid"] != first["metadata"]["uid"], "it was really deleted"
        assert _dockercfg(healed) == _dockercfg(first), "healed with the token it holds"
        # another writer changes the data (as kubectl edit would)
        bogus = base64.b64encode(b'{"auths":{"evil.example":{"auth":"eDp5"}}}').decode()
        t0 = time.monotonic()
        patched = json.loads(w.cluster.kubectl(
            "patch", "secret", w.secret, "-n", w.ns, "--type", "merge", "-o", "json",
            "-p", json.dumps({"data": {".dockerconfigjson": bogus}})).stdout)
        assert _dockercfg(patched) == bogus, "the foreign change was written"
        run.wait_for(lambda: _dockercfg(w.get_secret()) == _dockercfg(first), 5,
                     "the changed data restored")
        took_change = time.monotonic() - t0
        restored = w.get_secret()
        assert restored["metadata"]["uid"] == healed["metadata"]["uid"]
        assert _data_managers(restored) == {"regcred"}, restored["metadata"]["managedFields"]
        assert len(w.google.sts.requests) == exchanges, "no new exchange: the same token"
        time.sleep(1)
        settled = w.get_secret()["metadata"]["resourceVersion"]
        time.sleep(1.5)
        assert w.get_secret()["metadata"]["resourceVersion"] == settled, \
            "its own applies are not taken for changes (no loop)"
    finally:
        res = run.stop()
    assert res.rc == 0, res
    print(f"healed a delete in {took_delete:.2f} s, a foreign change in {took_change:.2f} s")
    assert any("was deleted" in l and "applying it again" in l for l in res.lines()), res
    assert any("was changed by someone else" in l for l in res.lines()), res
    assert not any(l.startswith("regcred: error") for l in res.lines()), res


# ---- (b) many refreshes in run mode, watched by another client ----------------------

def test_run_consecutive_refreshes_secret_never_absent(rw_workload):
    w = rw_workload
    w.short_tokens(2)            # refreshed at half of 2 s: once a second
    run = w.start()
    t_start = time.monotonic()
    try:
        run.wait_for(lambda: w.get_secret() is not None, 30, "the first apply")
        first = w.get_secret()
        with SecretWatch(w.cluster, w.ns, w.secret, first["metadata"]["resourceVersion"]) as watch, \
                SecretPoller(w.cluster, w.secret_path) as poller:
            deadline = time.monotonic() + REFRESHES * 2 + 60
            while sum(t == "MODIFIED" for t, _ in watch.events) < REFRESHES:
                assert time.monotonic() < deadline, \
                    f"{sum(t == 'MODIFIED' for t, _ in watch.events)} refreshes seen"
                assert run.p.poll() is None, "\n".join(run.lines())
                time.sleep(0.2)
        last = w.get_secret()
    finally:
        res = run.stop()
    took = time.monotonic() - t_start
    assert res.rc == 0, res
    types = [t for t, _ in watch.events]
    assert not watch.errors, watch.errors
    assert "DELETED" not in types and set(types) <= {"MODIFIED"}, types
    assert last["metadata"]["uid"] == first["metadata"]["uid"]
    assert not poller.failures, poller.failures[:5]
    assert set(poller.statuses) == {200}, poller.statuses
    assert len(w.google.sts.requests) >= REFRESHES + 1
    assert not any(l.startswith("regcred: error") for l in res.lines()), res
    print(f"{types.count('MODIFIED')} refreshes in run mode in {took:.0f} s; "
          f"{sum(poller.statuses.values())} GETs, all 200")


# ---- (c) the ServiceAccount's imagePullSecrets --------------------------------------

def _sa(w, ns: str, name: str = "default") -> dict:
    st, body = w.cluster.request("GET", f"/api/v1/namespaces/{ns}/serviceaccounts/{name}")
    assert st == 200, (st, body)
    return body


def _sa_patch_as_regcred(w, ns: str, patch: list):
    token = (w.sa_dir / "token").read_text()
    st, text = w.cluster.request_as_token(
        token, "PATCH", f"/api/v1/namespaces/{ns}/serviceaccounts/default?fieldManager=regcred",
        body=patch, content_type="application/json-patch+json")
    return st, json.loads(text)


def test_service_account_keeps_foreign_entry_and_gets_the_secret_once(rw_workload):
    w = rw_workload
    assert "--service-account" in w.dep.args and "default" in w.dep.args
    w.cluster.kubectl("patch", "serviceaccount", "default", "-n", w.ns, "--type", "json", "-p",
                      json.dumps([{"op": "replace", "path": "/imagePullSecrets",
                                   "value": [{"name": FOREIGN}]}]))
    before = _sa(w, w.ns)
    rv0 = before["metadata"]["resourceVersion"]
    # regcred's read: a JSON Patch whose one test always holds. The answer
    # is the object, and nothing is written.
    st, body = _sa_patch_as_regcred(w, w.ns, [{"op": "test", "path": "/metadata/name",
                                              "value": "default"}])
    assert st == 200, (st, body)
    assert body["imagePullSecrets"] == [{"name": FOREIGN}]
    assert body["metadata"]["resourceVersion"] == rv0
    assert _sa(w, w.ns)["metadata"]["resourceVersion"] == rv0, "the read-patch wrote nothing"
    # a guarded append whose test fails (another writer got there first)
    st, body = _sa_patch_as_regcred(w, w.ns, [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
        {"op": "add", "path": "/imagePullSecrets/-", "value": {"name": w.secret}}])
    assert st == 422, (st, body)
    assert body["reason"] == "Invalid", body
    assert body["message"] == "the server rejected our request due to an error in our request", body
    print(f"a failed JSON Patch test: HTTP {st} {json.dumps(body)}")
    assert _sa(w, w.ns)["metadata"]["resourceVersion"] == rv0
    # regcred itself, twice
    args = ["refresh"] + w.dep.args[1:]
    res = w.run(args=args)
    assert res.rc == 0, res
    assert any(f"added {w.secret} to the imagePullSecrets of ServiceAccount {w.ns}/default" in l
               for l in res.lines()), res
    after = _sa(w, w.ns)
    assert after["imagePullSecrets"] == [{"name": FOREIGN}, {"name": w.secret}], after
    rv1 = after["metadata"]["resourceVersion"]
    assert rv1 != rv0
    res = w.run(args=args)
    assert res.rc == 0, res
    assert not any("added" in l for l in res.lines()), res
    again = _sa(w, w.ns)
    assert again["imagePullSecrets"] == [{"name": FOREIGN}, {"name": w.secret}], again
    assert again["metadata"]["resourceVersion"] == rv1, "present: only read, nothing written"
    managers = {(m["manager"], m["operation"]) for m in again["metadata"].get("managedFields", [])}
    print("ServiceAccount managedFields after:", json.dumps(again["metadata"].get("managedFields")))
    if managers:
        assert ("regcred", "Update") in managers, managers
    # an absent list is created
    w.cluster.kubectl("patch", "serviceaccount", "default", "-n", w.ns, "--type", "json", "-p",
                      json.dumps([{"op": "remove", "path": "/imagePullSecrets"}]))
    res = w.run(args=args)
    assert res.rc == 0, res
    assert _sa(w, w.ns)["imagePullSecrets"] == [{"name": w.secret}]


# ---- (d) least privilege, and a namespace without a RoleBinding -----------------------

def can_i(cluster, user: str, ns: str, verb: str, resource: str) -> bool:
    p = cluster.kubectl("auth", "can-i", verb, resource, "-n", ns, "--as", user, check=False)
    out = p.stdout_text.strip()
    assert out in ("yes", "no"), p.stderr_text
    return out == "yes"


def test_clusterrole_least_privilege(run_world):
    rw, c = run_world, run_world.cluster
    secret = rw.dep.secret_name
    cr_name = f"regcred-run.{RUN_NS}.{rw.sa_name}"
    cr = c.kubectl_json("get", "clusterrole", cr_name)
    assert cr["rules"] == [
        {"apiGroups": [""], "resources": ["secrets"], "resourceNames": [secret],
         "verbs": ["create", "patch", "watch"]},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "resourceNames": ["default"],
         "verbs": ["patch"]},
    ]
    # nothing cluster-wide: no ClusterRoleBinding names regcred's ServiceAccount
    crbs = c.kubectl_json("get", "clusterrolebindings")["items"]
    assert not [b["metadata"]["name"] for b in crbs for s in b.get("subjects") or []
                if s.get("kind") == "ServiceAccount" and s.get("name") == rw.sa_name
                and s.get("namespace") == RUN_NS]
    allowed = {("create", f"secrets/{secret}"), ("patch", f"secrets/{secret}"),
               ("watch", f"secrets/{secret}"), ("patch", "serviceaccounts/default")}
    checks = [(v, f"secrets/{secret}") for v in
              ("create", "patch", "watch", "get", "list", "update", "delete", "deletecollection")]
    checks += [(v, "secrets") for v in ("create", "patch", "watch", "get", "list")]
    checks += [(v, "secrets/another-secret") for v in ("create", "patch", "watch")]
    checks += [(v, "serviceaccounts/default") for v in ("patch", "get", "list", "update", "delete")]
    checks += [("patch", f"serviceaccounts/{rw.sa_name}"), ("patch", "serviceaccounts"),
               ("create", "serviceaccounts/default/token"), ("get", "configmaps"),
               ("patch", "configmaps/x"), ("create", "pods"), ("get", "namespaces")]
    for ns in (RUN_NS,) + BOUND:
        for verb, res in checks:
            assert can_i(c, rw.user, ns, verb, res) == ((verb, res) in allowed), (ns, verb, res)
    for verb, res in sorted(allowed):
        assert not can_i(c, rw.user, UNBOUND, verb, res), (UNBOUND, verb, res)
        assert not can_i(c, rw.user, "default", verb, res), ("default", verb, res)


def test_watch_by_name_is_authorized_by_resource_names(rw_workload):
    """The requests regcred's watch makes, with its own token: a watch
    pinned to the name by its field selector is authorized as watch of that
    name (resourceNames), from a resourceVersion or from now; everything
    around it is refused."""
    w = rw_workload
    res = w.run(args=["refresh"] + w.dep.args[1:])
    assert res.rc == 0, res
    rv = w.get_secret()["metadata"]["resourceVersion"]
    token = w.create_token()
    base = f"/api/v1/namespaces/{w.ns}/secrets"
    sel = f"fieldSelector=metadata.name%3D{w.secret}"
    accept = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1, application/json"

    def get(query: str):
        import http.client
        import ssl
        ctx = ssl.create_default_context(cafile=w.cluster.pki.ca_file)
        c = http.client.HTTPSConnection("127.0.0.1", w.cluster.port, context=ctx, timeout=30)
        try:
            c.request("GET", f"{base}?{query}", headers={"Authorization": f"Bearer {token}",
                                                       "Accept": accept})
            r = c.getresponse()
            return r.status, r.read().decode(errors="replace")
        finally:
            c.close()

    st, body = get(f"allowWatchBookmarks=true&{sel}&resourceVersion={rv}&timeoutSeconds=1&watch=true")
    assert st == 200, (st, body)
    # from now: the Secret as it is (ADDED), metadata only
    st, body = get(f"allowWatchBookmarks=true&{sel}&timeoutSeconds=1&watch=true")
    assert st == 200, (st, body)
    ev = json.loads(body.splitlines()[0])
    assert ev["type"] == "ADDED" and ev["object"]["kind"] == "PartialObjectMetadata", ev
    assert ev["object"]["metadata"]["resourceVersion"] == rv and "data" not in ev["object"], ev
    for q, verb in ((f"{sel}", "list"), ("watch=true&timeoutSeconds=1", "watch"),
                    ("fieldSelector=metadata.name%3Danother-secret&watch=true&timeoutSeconds=1",
                     "watch")):
        st, body = get(q)
        assert st == 403, (q, st, body)
        assert f'cannot {verb} resource "secrets"' in json.loads(body)["message"], (q, body)
    st, body = w.cluster.request_as_token(token, "GET", f"{base}/{w.secret}")
    assert st == 403 and 'cannot get resource "secrets"' in json.loads(body)["message"], (st, body)


def test_run_three_namespaces_one_without_rolebinding(rw_workload):
    w = rw_workload
    targets = list(BOUND) + [UNBOUND]
    extra = [f"--namespace={ns}" for ns in targets]
    for ns in targets:
        w.cluster.kubectl("patch", "serviceaccount", "default", "-n", ns, "--type", "json", "-p",
                          json.dumps([{"op": "replace", "path": "/imagePullSecrets",
                                       "value": [{"name": FOREIGN}]}]))
    run = w.start(extra)
    try:
        run.wait_for(lambda: any("1 of 3 namespaces failed" in l for l in run.lines()), 30,
                     "the first refresh's verdict")
        for ns in BOUND:
            assert w.secret_in(ns) is not None, ns
        assert w.secret_in(UNBOUND) is None
        assert w.secret_in(RUN_NS) is None, "--namespace replaces the pod's own"
        # the two written are healed as usual
        w.cluster.kubectl("delete", "secret", w.secret, "-n", BOUND[1])
        run.wait_for(lambda: w.secret_in(BOUND[1]) is not None, 5, "healed in a bound namespace")
    finally:
        res = run.stop()
    assert res.rc == 0, res
    errs = [l for l in res.lines() if l.startswith("regcred: error kube:")]
    assert any(f"/namespaces/{UNBOUND}/secrets/{w.secret}?" in l and "HTTP 403" in l and
               f'cannot patch resource "secrets" in API group "" in the namespace "{UNBOUND}"' in l
               for l in errs), res
    assert not any(ns in l for l in errs for ns in BOUND), res
    assert any(f"1 of 3 namespaces failed (each logged above): {UNBOUND}" in l for l in errs), res
    for ns in BOUND:
        assert _sa(w, ns)["imagePullSecrets"] == [{"name": FOREIGN}, {"name": w.secret}], ns
    assert _sa(w, UNBOUND)["imagePullSecrets"] == [{"name": FOREIGN}]
    assert any("next refresh in 10 s" in l for l in res.lines()), "exit-4 class: backoff"
    # the one-shot refresh says the same with exit code 4
    res = w.run(extra, args=["refresh"] + w.dep.args[1:])
    H.expect_failure(res, 4, "kube", f"1 of 3 namespaces failed (each logged above): {UNBOUND}")


# ---- the Deployment's probes and metrics --------------------------------------------

def test_probe_and_metrics_of_the_deployment(rw_workload):
    """The Deployment's probe command on the status file regcred run
    writes: healthy after the first refresh; unhealthy naming a namespace
    without a RoleBinding. The metrics: each Secret's token expiry."""
    w = rw_workload
    if not w.rw.has_status:
        pytest.skip("this regcred has no --status-file (issue 10's status work)")
    from kubecluster import free_port
    port = free_port()
    run = w.start([f"--metrics-addr=127.0.0.1:{port}"])
    try:
        run.wait_for(lambda: any("next refresh in" in l for l in run.lines()), 30,
                     "the first refresh")
        run.wait_for(lambda: (w.dir / "status.json").exists(), 3, "the status file")
        st = _status(w)
        assert st.returncode == 0 and st.stdout.startswith("ok: last success"), st
        line = next(l for l in _metrics(port).splitlines()
                    if l.startswith("regcred_token_expiry_timestamp_seconds{"))
        assert f'namespace="{w.ns}"' in line and f'secret="{w.secret}"' in line, line
        assert float(line.split()[-1]) - time.time() > 3000, line
    finally:
        run.stop()
    (w.dir / "status.json").unlink()
    run = w.start([f"--namespace={ns}" for ns in BOUND + (UNBOUND,)])
    try:
        run.wait_for(lambda: any("1 of 3 namespaces failed" in l for l in run.lines()), 30,
                     "the first refresh's verdict")
        run.wait_for(lambda: (w.dir / "status.json").exists(), 3, "the status file")
        st = _status(w)
        assert st.returncode == 1 and UNBOUND in st.stderr, st
        assert not any(ns in st.stderr for ns in BOUND), st
        print(f"regcred status with {UNBOUND} unbound: rc {st.returncode}: {st.stderr.strip()}")
    finally:
        run.stop()


# ---- (e) the component as applied ---------------------------------------------------

def test_component_objects_and_admission(run_world):
    rw, c = run_world, run_world.cluster
    d = rw.dep.deployment
    assert d["spec"]["replicas"] == 1
    assert d["spec"]["strategy"] == {"type": "Recreate"}
    kinds = {o["kind"] for o in c.kubectl_json("get", "-k", str(rw.overlay))["items"]}
    assert "CronJob" not in kinds and "Role" not in kinds, kinds
    for kind in ("cronjob", "role", "rolebinding"):
        p = c.kubectl("get", kind, "regcred", "-n", RUN_NS, check=False)
        assert p.returncode != 0 and "NotFound" in p.stderr_text, (kind, p.stdout_text)
    assert "Warning" not in rw.apply_stderr, rw.apply_stderr
    pod = rw.dep.pod_spec
    ctr = rw.dep.container
    assert ctr["args"][0] == "run"
    assert pod["serviceAccountName"] == rw.sa_name and pod["automountServiceAccountToken"] is False
    status_file = next(a.split("=", 1)[1] for a in ctr["args"] if a.startswith("--status-file="))
    mounts = {m["name"]: m["mountPath"] for m in ctr["volumeMounts"]}
    vols = {v["name"]: v for v in pod["volumes"]}
    assert status_file.startswith(mounts["status"] + "/") and "emptyDir" in vols["status"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        cmd = ctr[probe]["exec"]["command"]
        assert cmd[:4] == ["/regcred", "status", "--status-file", status_file], (probe, cmd)
    # the API token outlives the healing process, which keeps it until the
    # next refresh (half of an hour's token, +10 %)
    kube_tok = vols["kube-api-access"]["projected"]["sources"][0]["serviceAccountToken"]
    assert 1980 < kube_tok["expirationSeconds"] < 3607, kube_tok
    # the RoleBindings: regcred's namespace and the two bound ones, all to
    # the one ClusterRole, all for regcred's ServiceAccount
    for ns in (RUN_NS,) + BOUND:
        rb = c.kubectl_json("get", "rolebinding", "regcred-run", "-n", ns)
        assert rb["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                 "name": f"regcred-run.{RUN_NS}.{rw.sa_name}"}, rb
        assert rb["subjects"] == [{"kind": "ServiceAccount", "name": rw.sa_name,
                                   "namespace": RUN_NS}], rb
    # the Deployment's pod, admitted into the restricted namespace (server
    # dry run: PodSecurity and the API server's validation)
    manifest = {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "regcred-run-check", "namespace": RUN_NS,
                             "labels": d["spec"]["template"]["metadata"]["labels"]},
                "spec": pod}
    p = c.kubectl("apply", "--dry-run=server", "-f", "-", input=json.dumps(manifest))
    assert "Warning" not in p.stderr_text, p.stderr_text
    root = json.loads(json.dumps(manifest))
    root["spec"]["securityContext"]["runAsUser"] = 0
    root["spec"]["securityContext"]["runAsNonRoot"] = False
    root["spec"]["containers"][0]["securityContext"].pop("runAsUser")
    root["spec"]["containers"][0]["securityContext"].pop("runAsNonRoot")
    p = c.kubectl("apply", "--dry-run=server", "-f", "-", input=json.dumps(root), check=False)
    assert p.returncode != 0 and "violates PodSecurity" in p.stderr_text, p.stderr_text


def test_monitoring_components_render(run_world, tmp_path):
    """PodMonitor and PrometheusRule (their CRDs are not in this cluster:
    rendered, not applied): the metrics flag and port, the ingress for it,
    alerts on the metrics regcred serves."""
    o = copy_overlay("aks-issuer", tmp_path, RUN_NS,
                     components=("run", "podmonitor", "prometheusrule"))
    out = run_world.cluster.kubectl("kustomize", str(o)).stdout_text
    docs = [d for d in yaml.safe_load_all(out) if d]
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    dep = by[("Deployment", "regcred")]["spec"]["template"]
    ctr = dep["spec"]["containers"][0]
    assert "--metrics-addr=0.0.0.0:9090" in ctr["args"]
    assert ctr["ports"] == [{"name": "metrics", "containerPort": 9090, "protocol": "TCP"}]
    pm = by[("PodMonitor", "regcred")]["spec"]
    assert pm["podMetricsEndpoints"][0]["port"] == "metrics"
    assert pm["selector"]["matchLabels"].items() <= dep["metadata"]["labels"].items()
    np = by[("NetworkPolicy", "regcred-metrics")]["spec"]
    assert np["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 9090}]
    exprs = " ".join(r["expr"] for g in by[("PrometheusRule", "regcred")]["spec"]["groups"]
                     for r in g["rules"])
    assert "regcred_token_expiry_timestamp_seconds - time() < 600" in exprs
    assert 'regcred_refresh_total{result="error"}' in exprs
    assert "CronJob" not in out


def test_entra_overlay_with_the_run_component(run_world, tmp_path):
    """The entra overlay's patches and replacements reach the Deployment
    too: its own token for api://AzureADTokenExchange, the IDs as flags."""
    o = copy_overlay("entra", tmp_path, "regcred-e2e-entra-run", components=("run",))
    params = _params(o / "params.env")
    docs = [d for d in yaml.safe_load_all(run_world.cluster.kubectl("kustomize", str(o)).stdout_text) if d]
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert not [k for k in by if k[0] in ("CronJob", "Role")], sorted(by)
    pod = by[("Deployment", "regcred")]["spec"]["template"]["spec"]
    args = pod["containers"][0]["args"]
    for a in (f"--azure-client-id={params['AZURE_CLIENT_ID']}",
              f"--azure-tenant-id={params['AZURE_TENANT_ID']}",
              "--azure-token-file=/var/run/secrets/tokens/azure/token",
              params["REGISTRY"], params["SECRET_NAME"]):
        assert a in args, (a, args)
    vols = {v["name"]: v for v in pod["volumes"]}
    assert "gcp-token" not in vols
    assert vols["azure-token"]["projected"]["sources"][0]["serviceAccountToken"]["audience"] == \
        "api://AzureADTokenExchange"
    assert pod["serviceAccountName"] == params["SERVICE_ACCOUNT"]
    cr_name = f"regcred-run.regcred-e2e-entra-run.{params['SERVICE_ACCOUNT']}"
    assert by[("ClusterRole", cr_name)]["rules"][0]["resourceNames"] == [params["SECRET_NAME"]]
    rb = by[("RoleBinding", "regcred-run")]
    assert rb["roleRef"]["name"] == cr_name
    assert rb["subjects"] == [{"kind": "ServiceAccount", "name": params["SERVICE_ACCOUNT"],
                               "namespace": "regcred-e2e-entra-run"}]


# ---- the CronJob's first refresh at install --------------------------------------------

def test_first_refresh_job_is_the_cronjobs_pod(cluster, tmp_path):
    """deploy/components/first-refresh on the aks-issuer overlay: a Job
    whose pod is the CronJob's after every parameter, admitted as
    restricted; applied again unchanged it stays; with another image it is
    refused alone ("field is immutable"), as deploy/README.md says."""
    ns = "regcred-e2e-first"
    o = copy_overlay("aks-issuer", tmp_path, ns, components=("first-refresh",))
    p = cluster.kubectl("apply", "-k", str(o))
    assert "Warning" not in p.stderr_text, p.stderr_text
    job = cluster.kubectl_json("get", "job", "regcred-first", "-n", ns)
    cj = cluster.kubectl_json("get", "cronjob", "regcred", "-n", ns)
    want = cj["spec"]["jobTemplate"]["spec"]
    got = job["spec"]
    assert got["template"]["spec"] == want["template"]["spec"]
    assert got["podFailurePolicy"] == want["podFailurePolicy"]
    assert got["ttlSecondsAfterFinished"] == 600 and got["backoffLimit"] == want["backoffLimit"]
    assert got["template"]["spec"]["containers"][0]["args"][0] == "refresh"
    assert cj["spec"]["schedule"] == "*/15 * * * *"
    cluster.kubectl("apply", "-k", str(o))
    again = cluster.kubectl_json("get", "job", "regcred-first", "-n", ns)
    assert again["metadata"]["uid"] == job["metadata"]["uid"]
    assert again["spec"]["template"] == job["spec"]["template"]
    k = (o / "kustomization.yaml").read_text()
    (o / "kustomization.yaml").write_text(k.replace("newTag: e2e", "newTag: e2e-2"))
    p = cluster.kubectl("apply", "-k", str(o), check=False)
    assert p.returncode != 0 and "field is immutable" in p.stderr_text, p.stderr_text
    assert 'The Job "regcred-first" is invalid: spec.template' in p.stderr_text, p.stderr_text
    image = cluster.kubectl_json("get", "cronjob", "regcred", "-n", ns)["spec"]["jobTemplate"][
        "spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(":e2e-2"), "the other objects were applied"
