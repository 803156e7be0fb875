"""The e2e test world: deploy/ applied to the real API server, Google
stand-ins that trust the cluster's service-account issuer (or Entra ID, which
trusts it), and regcred run as the CronJob's container (same args,
credential config, token audience, in-cluster environment and
service-account folder as a pod sees them).

The overlays in deploy/overlays/ are used as deploy/README.md tells a user
to: copy_overlay() copies one, points `resources` at the base and
`components` at deploy/components (enabling the namespace component: each
overlay gets a restricted namespace of its own), sets the namespace and
image, and puts in the e2e's params.env and credential config
(tests/e2e/params/<overlay>/).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path

import harness as H        # tests/integration: Result, step_lines, expect_failure
import standins as S       # tests/integration: IAM (and STS, extended in wif.py)
import entra as E          # tests/integration: Entra ID and an STS that trusts only it
from kubecluster import ISSUER, Cluster
from wif import WIFSTS

SA_DIR_FILES = ("token", "ca.crt", "namespace")
REPO = Path(__file__).resolve().parents[2]
OVERLAYS = REPO / "deploy" / "overlays"
PARAMS = Path(__file__).resolve().parent / "params"


def copy_overlay(name: str, dest: Path, namespace: str, own_namespace: bool = True,
                 components: tuple = ()) -> Path:
    """deploy/README.md's steps for deploy/overlays/NAME, done by the test:
    copy the directory, point `resources` at the base and `components` at
    deploy/components (with own_namespace, enable the namespace component;
    `components` adds more of deploy/components by name, e.g. "run"),
    set `namespace` and the image, replace params.env and
    credential-config.json with the e2e's (tests/e2e/params/NAME/). Returns
    the copy."""
    d = Path(dest) / name
    shutil.copytree(OVERLAYS / name, d)
    for f in ("params.env", "credential-config.json"):
        shutil.copyfile(PARAMS / name / f, d / f)
    k = (d / "kustomization.yaml").read_text()
    base = os.path.relpath(REPO / "deploy" / "base", d)
    comps = os.path.relpath(REPO / "deploy" / "components", d)
    ns_comp = f"  - {comps}/namespace\n" if own_namespace else "  # - ../../components/namespace\n"
    ns_comp += "".join(f"  - {comps}/{c}\n" for c in components)
    for old, new in (("\n  - ../../base\n", f"\n  - {base}\n"),
                     ("\n  - ../../components/admission-policy\n",
                      f"\n  - {comps}/admission-policy\n"),
                     ("\n  # - ../../components/namespace\n", "\n" + ns_comp),
                     ("\nnamespace: bifrost\n", f"\nnamespace: {namespace}\n"),
                     ("\n    newTag: 0.1.0\n", "\n    newName: regcred.test/regcred\n    newTag: e2e\n")):
        assert k.count(old) == 1, \
            f"deploy/overlays/{name}/kustomization.yaml: {old.strip()!r} is not there once " \
            "(deploy/README.md's copy-and-edit steps no longer fit it)"
        k = k.replace(old, new)
    (d / "kustomization.yaml").write_text(k)
    return d


def arg_value(args: list, flag: str) -> str | None:
    """The value of --flag V or --flag=V in args (None if absent)."""
    for i, a in enumerate(args):
        if a == flag:
            return args[i + 1]
        if a.startswith(flag + "="):
            return a[len(flag) + 1:]
    return None


@dataclass
class Deployment:
    """What `kubectl apply -k tests/e2e/overlay` created, as the server has it."""
    overlay: Path
    objects: dict            # kind -> object (one of each kind applied)
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
        return arg_value(self.args, "--secret")

    @property
    def registry(self) -> str:
        return arg_value(self.args, "--registry")

    @property
    def service_account(self) -> str:
        return self.pod_spec["serviceAccountName"]

    def audience_tokens(self) -> list:
        """[(volume name, serviceAccountToken source)] of the projected tokens
        with an audience: the subject tokens, not the API server's own (the
        kube-api-access volume's token has no audience)."""
        return [(v["name"], src["serviceAccountToken"]) for v in self.pod_spec["volumes"]
                for src in (v.get("projected") or {}).get("sources", [])
                if "audience" in src.get("serviceAccountToken", {})]

    @property
    def token_audience(self) -> str:
        toks = self.audience_tokens()
        assert len(toks) == 1, f"the CronJob has {len(toks)} audience-bound tokens"
        return toks[0][1]["audience"]

    @property
    def token_file(self) -> str:
        """Where the pod reads its projected service-account token (the
        audience-bound one, not the API server's)."""
        mounts = {m["name"]: m["mountPath"] for m in self.container["volumeMounts"]}
        toks = self.audience_tokens()
        assert len(toks) == 1, f"the CronJob has {len(toks)} audience-bound tokens"
        return f"{mounts[toks[0][0]]}/{toks[0][1]['path']}"

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    @property
    def credential_config(self) -> dict:
        return json.loads(self.objects["ConfigMap"]["data"]["credential-config.json"])


class RunDeployment(Deployment):
    """An overlay with deploy/components/run: the Deployment's pod instead of
    the CronJob's (which the component removes)."""

    @property
    def deployment(self) -> dict:
        return self.objects["Deployment"]

    @property
    def pod_spec(self) -> dict:
        return self.deployment["spec"]["template"]["spec"]

    @property
    def cronjob(self) -> dict:
        raise AssertionError("deploy/components/run leaves no CronJob")


def cluster_jwks(cluster: Cluster) -> dict:
    """The API server's service-account keys, as an OIDC relying party fetches them."""
    st, body = cluster.request("GET", "/openid/v1/jwks", headers={"Accept": "application/jwk-set+json"})
    assert st == 200, (st, body)
    return body


class Google:
    """STS (verifying like Workload Identity Federation) and IAM stand-ins for
    the provider and service account named in the deployed credential config."""

    def __init__(self, pki, cluster: Cluster, dep: Deployment):
        cfg = dep.credential_config
        self.pki = pki
        self.provider_audience = "https:" + cfg["audience"]   # WIF's default allowed audience
        self.subject = f"system:serviceaccount:{dep.namespace}:{dep.service_account}"

        self.sts = WIFSTS(pki.rsa, cfg["audience"], issuer=ISSUER,
                          allowed_audiences=[self.provider_audience], subject=self.subject,
                          jwks_fetch=lambda: cluster_jwks(cluster))
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

    def issued(self) -> list:
        return self.sts.issued + self.iam.issued

    def close(self):
        self.sts.stop()
        self.iam.stop()


def make_google(pki, cluster, dep) -> Google:
    return Google(pki, cluster, dep)


class EntraGoogle(Google):
    """The entra overlay's world: Entra ID (tests/integration/entra.py) with
    the managed identity the CronJob's --azure-client-id names, in the tenant
    --azure-tenant-id names, whose federated credential trusts the cluster's
    issuer for system:serviceaccount:NS:SA and audience
    api://AzureADTokenExchange, checking the client assertion against the
    API server's real /openid/v1/jwks; an STS whose provider trusts that
    Entra only (issuer https://sts.windows.net/TENANT/, audience the app ID
    URI of the credential config's IMDS URL, subject the managed identity's
    principal ID); and IAM."""

    def __init__(self, pki, cluster: Cluster, dep: Deployment):
        cfg = dep.credential_config
        self.pki = pki
        self.config_template = cfg
        url = urllib.parse.urlsplit(cfg["credential_source"]["url"])
        self.app_id_uri = urllib.parse.parse_qs(url.query)["resource"][0]
        self.tenant = arg_value(dep.args, "--azure-tenant-id")
        self.client_id = arg_value(dep.args, "--azure-client-id")
        self.subject = f"system:serviceaccount:{dep.namespace}:{dep.service_account}"
        self.identity = E.ManagedIdentity(
            client_id=self.client_id, principal_id=str(uuid.uuid4()),
            federated=[E.FederatedCredential(ISSUER, self.subject)])
        self.jwks_fetches: list[str] = []

        def jwks(issuer: str) -> dict:
            self.jwks_fetches.append(issuer)
            assert issuer == ISSUER, issuer        # Entra found the record by iss first
            return cluster_jwks(cluster)
        self.entra = E.Entra(pki.rsa, tenant=self.tenant, identities=[self.identity],
                             app_id_uris=[self.app_id_uri], jwks_fetch=jwks)
        self.sts = E.EntraSTS(pki.rsa, cfg["audience"], entra=self.entra,
                              app_id_uri=self.app_id_uri, principal_id=self.identity.principal_id)
        imp = urllib.parse.urlsplit(cfg["service_account_impersonation_url"])
        email = urllib.parse.unquote(imp.path).split("/serviceAccounts/")[1].split(":")[0]
        self.iam = S.IAM(pki.rsa, email, self.sts)

    def config_for(self, token_file=None) -> dict:
        """The deployed credential config with Google's hosts replaced by the
        stand-ins; the credential source (the IMDS URL) unchanged."""
        cfg = json.loads(json.dumps(self.config_template))
        for key, srv in (("token_url", self.sts), ("service_account_impersonation_url", self.iam)):
            u = urllib.parse.urlsplit(cfg[key])
            assert u.scheme == "https"
            cfg[key] = f"{srv.base_url}{u.path}"
        return cfg

    def reset(self):
        """No faults, and each test sees only its own requests and tokens."""
        for srv in (self.entra, self.sts, self.iam):
            srv.clear_faults()
            with srv._lock:
                for name in ("requests", "issued", "assertions", "refusals", "verified"):
                    if isinstance(getattr(srv, name, None), list):
                        getattr(srv, name).clear()
        with self.entra._jwks_lock:          # fetch the API server's keys afresh
            self.entra._keys.clear()
        self.jwks_fetches.clear()

    def violations(self) -> list:
        return self.entra.violations + self.sts.violations + self.iam.violations

    def issued(self) -> list:
        return self.entra.issued + self.sts.issued + self.iam.issued

    def close(self):
        for s in (self.entra, self.sts, self.iam):
            s.stop()


class Workload:
    """regcred as the CronJob's pod: env, files and args of the pod."""

    def __init__(self, cluster: Cluster, dep: Deployment, google: Google, binary: str, d: Path):
        self.cluster, self.dep, self.google, self.binary = cluster, dep, google, binary
        self.ns, self.secret = dep.namespace, dep.secret_name
        self.dir = Path(d)
        self.sa_dir = self.dir / "serviceaccount"
        self.sa_dir.mkdir(parents=True)
        self.token_file = self.token_path()
        self.token_file.parent.mkdir(parents=True)
        self.config_path = self.dir / "etc" / "regcred" / "credential-config.json"
        self.config_path.parent.mkdir(parents=True)
        self.secrets_seen: list[str] = []
        self.refresh_tokens()
        self.config_path.write_text(json.dumps(google.config_for(self.token_file), indent=2))

    def token_path(self) -> Path:
        """Where this workload keeps the pod's audience-bound token."""
        return self.dir / "tokens" / "gcp" / "token"

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
        for tok in self.secrets_seen + self.google.issued():
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


class EntraWorkload(Workload):
    """regcred as the entra overlay's pod: the projected token for
    api://AzureADTokenExchange kept at the pod's path (the one
    --azure-token-file names) under the workload's folder, the CronJob's
    args with that one path mapped there, and Entra's authority from
    AZURE_AUTHORITY_HOST, as the webhook would inject it (the overlay leaves
    --azure-authority-host at its default)."""

    def token_path(self) -> Path:
        return self.dir / self.dep.token_file.lstrip("/")

    def env(self) -> dict:
        e = super().env()
        e["AZURE_AUTHORITY_HOST"] = self.google.entra.authority
        return e

    def args(self, extra=(), args=None) -> list:
        a = list(self.dep.args if args is None else args)
        a = [f"--azure-token-file={self.token_file}" if x.startswith("--azure-token-file=") else x
             for x in a]
        return super().args(extra, a)
