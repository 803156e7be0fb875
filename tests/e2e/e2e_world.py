"""The e2e test world: deploy/ applied to the real API server, Google
stand-ins that trust the cluster's service-account issuer, and regcred run
as the CronJob's container (same args, credential config, token audience,
in-cluster environment and service-account folder as a pod sees them).
"""
from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import harness as H        # tests/integration: Result, step_lines, expect_failure
import standins as S       # tests/integration: IAM (and STS, extended in wif.py)
from kubecluster import ISSUER, Cluster
from wif import WIFSTS

SA_DIR_FILES = ("token", "ca.crt", "namespace")


@dataclass
class Deployment:
    """What `kubectl apply -k tests/e2e/overlay` created, as the server has it."""
    overlay: Path
    objects: dict            # kind -> object (one of each kind in deploy/base)
    apply_stderr: str

    @classmethod
    def apply(cls, cluster: Cluster, overlay: Path) -> "Deployment":
        p = cluster.kubectl("apply", "-k", str(overlay))
        got = cluster.kubectl_json("get", "-k", str(overlay))
        objs = {o["kind"]: o for o in got["items"]}
        return cls(overlay, objs, p.stderr_text)

    @property
    def namespace(self) -> str:
        return self.objects["Namespace"]["metadata"]["name"]

    @property
    def cronjob(self) -> dict:
        return self.objects["CronJob"]

    @property
    def pod_spec(self) -> dict:
        return self.cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]

    @property
    def container(self) -> dict:
        return self.pod_spec["containers"][0]

    @property
    def args(self) -> list:
        return list(self.container["args"])

    @property
    def secret_name(self) -> str:
        a = self.args
        return a[a.index("--secret") + 1]

    @property
    def service_account(self) -> str:
        return self.pod_spec["serviceAccountName"]

    @property
    def token_audience(self) -> str:
        for v in self.pod_spec["volumes"]:
            for src in (v.get("projected") or {}).get("sources", []):
                if "serviceAccountToken" in src:
                    return src["serviceAccountToken"]["audience"]
        raise AssertionError("the CronJob has no projected service-account token")

    @property
    def credential_config(self) -> dict:
        return json.loads(self.objects["ConfigMap"]["data"]["credential-config.json"])


class Google:
    """STS (verifying like Workload Identity Federation) and IAM stand-ins for
    the provider and service account named in the deployed credential config."""

    def __init__(self, pki, cluster: Cluster, dep: Deployment):
        cfg = dep.credential_config
        self.pki = pki
        self.provider_audience = "https:" + cfg["audience"]   # WIF's default allowed audience
        self.subject = f"system:serviceaccount:{dep.namespace}:{dep.service_account}"

        def jwks():
            st, body = cluster.request("GET", "/openid/v1/jwks",
                                       headers={"Accept": "application/jwk-set+json"})
            assert st == 200, (st, body)
            return body
        self.sts = WIFSTS(pki.rsa, cfg["audience"], issuer=ISSUER,
                          allowed_audiences=[self.provider_audience], subject=self.subject,
                          jwks_fetch=jwks)
        imp = urllib.parse.urlsplit(cfg["service_account_impersonation_url"])
        email = urllib.parse.unquote(imp.path).split("/serviceAccounts/")[1].split(":")[0]
        self.iam = S.IAM(pki.rsa, email, self.sts)
        self.config_template = cfg

    def config_for(self, token_file: Path) -> dict:
        """The deployed credential config with Google's hosts replaced by the
        stand-ins (paths kept) and the token file at token_file."""
        cfg = json.loads(json.dumps(self.config_template))
        for key, srv in (("token_url", self.sts), ("service_account_impersonation_url", self.iam)):
            u = urllib.parse.urlsplit(cfg[key])
            assert u.scheme == "https"
            cfg[key] = f"{srv.base_url}{u.path}"
        cfg["credential_source"]["file"] = str(token_file)
        return cfg

    def reset(self):
        for s in (self.sts, self.iam):
            s.clear_faults()

    def violations(self) -> list:
        return self.sts.violations + self.iam.violations

    def close(self):
        self.sts.stop()
        self.iam.stop()


def make_google(pki, cluster, dep) -> Google:
    return Google(pki, cluster, dep)


class Workload:
    """regcred as the CronJob's pod: env, files and args of the pod."""

    def __init__(self, cluster: Cluster, dep: Deployment, google: Google, binary: str, d: Path):
        self.cluster, self.dep, self.google, self.binary = cluster, dep, google, binary
        self.ns, self.secret = dep.namespace, dep.secret_name
        self.dir = Path(d)
        self.sa_dir = self.dir / "serviceaccount"
        self.sa_dir.mkdir(parents=True)
        self.token_file = self.dir / "tokens" / "gcp" / "token"
        self.token_file.parent.mkdir(parents=True)
        self.config_path = self.dir / "etc" / "regcred" / "credential-config.json"
        self.config_path.parent.mkdir(parents=True)
        self.secrets_seen: list[str] = []
        self.refresh_tokens()
        self.config_path.write_text(json.dumps(google.config_for(self.token_file), indent=2))

    # -- tokens (real TokenRequests) ---------------------------------------------
    def create_token(self, audience: str | None = None, sa: str | None = None) -> str:
        a = ["create", "token", sa or self.dep.service_account, "-n", self.ns]
        if audience:
            a += ["--audience", audience]
        tok = self.cluster.kubectl(*a).stdout_text.strip()
        self.secrets_seen.append(tok)
        return tok

    def refresh_tokens(self):
        """What the kubelet does: a bound token for the API server (default
        audience) in the SA folder, and one for the Google provider."""
        (self.sa_dir / "token").write_text(self.create_token())
        (self.sa_dir / "ca.crt").write_bytes(Path(self.cluster.pki.ca_file).read_bytes())
        (self.sa_dir / "namespace").write_text(self.ns)
        self.token_file.write_text(self.create_token(self.dep.token_audience))

    # -- running ------------------------------------------------------------------
    def env(self) -> dict:
        return {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                "KUBERNETES_SERVICE_PORT": str(self.cluster.port),
                "GOOGLE_APPLICATION_CREDENTIALS": str(self.config_path),
                "PATH": "/nonexistent"}

    def args(self, extra=(), args=None) -> list:
        """The CronJob's container args plus what only the test needs: the
        SA folder's location, the stand-ins' root, a short deadline."""
        a = list(self.dep.args if args is None else args)
        return a + ["--kube-sa-dir", str(self.sa_dir),
                    "--ca-file", self.google.pki.rsa_root_file, "--no-embedded-roots",
                    "--timeout", "20"] + list(extra)

    def run(self, extra=(), args=None, env=None, timeout: float = 40) -> H.Result:
        e = self.env()
        e.update({k: os.environ[k] for k in H.PASS_ENV if k in os.environ})
        e.update(env or {})
        argv = [self.binary] + self.args(extra, args)
        t0 = time.monotonic()
        p = subprocess.run(argv, env=e, cwd=self.dir, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        res = H.Result(argv, p.returncode, p.stdout, p.stderr.decode("utf-8", errors="replace"),
                       time.monotonic() - t0)
        self.check_hygiene(res)
        return res

    def check_hygiene(self, res: H.Result):
        assert res.rc >= 0, f"regcred killed by signal {-res.rc}\n{res}"
        assert res.stdout == b"", f"refresh wrote to stdout\n{res}"
        for tok in self.secrets_seen + self.google.sts.issued + self.google.iam.issued:
            assert tok not in res.stderr, f"a token is in stderr\n{res}"
            if len(tok) >= 40:
                assert tok[len(tok) // 2: len(tok) // 2 + 16] not in res.stderr, \
                    f"a piece of a token is in stderr\n{res}"
        v = self.google.violations()
        assert not v, f"the Google stand-ins rejected regcred's requests: {v}\n{res}"

    # -- the Secret, as the admin sees it -------------------------------------------
    @property
    def secret_path(self) -> str:
        return f"/api/v1/namespaces/{self.ns}/secrets/{self.secret}"

    def get_secret(self) -> dict | None:
        st, body = self.cluster.request("GET", self.secret_path)
        if st == 404:
            return None
        assert st == 200, (st, body)
        return body

    def delete_secret(self):
        st, body = self.cluster.request("DELETE", self.secret_path)
        assert st in (200, 404), (st, body)
        deadline = time.monotonic() + 10
        while self.get_secret() is not None:
            assert time.monotonic() < deadline, "Secret not gone after delete"
            time.sleep(0.05)
