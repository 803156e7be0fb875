"""The seed's Azure world: every stand-in at its real name inside a private
network namespace, so that a credential config from `gcloud ...
create-cred-config --azure` is used byte for byte (token_url
https://sts.googleapis.com/v1/token, IMDS at http://169.254.169.254).

    az = AzureWorld(pki, tmp_path / "az")      # netns.available() must be None
    az.world                                   # harness.World: run(), args(), kube, sts, iam
    az.entra, az.imds, az.issuer, az.identity  # entra.py stand-ins
    az.world.run(regcred, az.world.args(extra=az.flags()))   # the Entra hop
    az.world.run(regcred, az.world.args())     # no Azure settings: the plain IMDS path
    az.close()

Names and addresses inside the namespace (its own /etc/hosts):
  sts.googleapis.com 127.0.1.1:443 (entra.EntraSTS), iamcredentials.googleapis.com
  127.0.1.2:443, login.microsoftonline.com and login.microsoftonline.us
  127.0.1.3:443 (entra.Entra), 169.254.169.254:80 (entra.IMDS), the Kubernetes
  API at 127.0.0.1. All serve pki.cloud (under the rsa root that
  World.args passes as --ca-file).
"""
from __future__ import annotations

from pathlib import Path

import entra as E
import gcloud_fixtures as G
import standins as S
from harness import World
from netns import NetNS

HOSTS = {"sts.googleapis.com": "127.0.1.1", "iamcredentials.googleapis.com": "127.0.1.2",
         "login.microsoftonline.com": "127.0.1.3", "login.microsoftonline.us": "127.0.1.3"}
IMDS_ADDR = "169.254.169.254"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/"
AZURE_FLAGS = {"client-id": "AZURE_CLIENT_ID", "tenant-id": "AZURE_TENANT_ID",
               "token-file": "AZURE_FEDERATED_TOKEN_FILE",
               "authority-host": "AZURE_AUTHORITY_HOST"}


class AzureWorld:
    def __init__(self, pki, directory, fixture: str = "gcloud-azure-app-id-uri.json",
                 tolerate_fields=()):
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.ns = NetNS()
        try:
            self._build(pki, directory, fixture, tolerate_fields)
        except BaseException:
            self.ns.close()
            raise

    def _build(self, pki, directory, fixture, tolerate_fields):
        self.ns.add_address(IMDS_ADDR)
        self.issuer = E.Issuer()
        self.identity = E.ManagedIdentity(
            federated=[E.FederatedCredential(self.issuer.url, E.SA_SUBJECT)])
        uris = [G.APP_ID_URI, G.DEFAULT_RESOURCE]
        self.jwks_fetches: list[str] = []
        with self.ns.entered():
            self.entra = E.Entra(pki.cloud, identities=[self.identity], app_id_uris=uris,
                                 jwks_fetch=self._jwks, tolerate_fields=tolerate_fields,
                                 host_name="login.microsoftonline.com",
                                 extra_host_names=["login.microsoftonline.us"],
                                 bind=HOSTS["login.microsoftonline.com"], port=443)
            self.world = World(
                pki, directory, google_cert="cloud",
                make_sts=lambda c: E.EntraSTS(c, G.ENTRA_AUDIENCE, entra=self.entra,
                                              app_id_uri=uris, principal_id=self.identity.principal_id,
                                              host_name="sts.googleapis.com",
                                              bind=HOSTS["sts.googleapis.com"], port=443),
                make_iam=lambda c, sts: S.IAM(c, G.SA_EMAIL, sts,
                                              host_name="iamcredentials.googleapis.com",
                                              bind=HOSTS["iamcredentials.googleapis.com"],
                                              port=443))
            self.imds = E.IMDS(identity=self.identity, entra=self.entra, bind=IMDS_ADDR, port=80)
        w = self.world
        w.others += [self.entra, self.imds]
        w.run_prefix = self.ns.command(HOSTS, directory / "hosts")
        self.token_file = directory / "azure-identity-token"
        self.set_azure_token(self.issuer.token())
        self.fixture = fixture
        self.use_fixture(fixture)

    def _jwks(self, issuer: str) -> dict:
        self.jwks_fetches.append(issuer)
        return self.issuer.jwks() if issuer == self.issuer.url else {"keys": []}

    def use_fixture(self, name: str) -> bytes:
        """Write the gcloud-made config, unchanged, as the credential config."""
        data = G.path(name).read_bytes()
        self.world.write_config(data)
        return data

    def set_azure_token(self, tok: str, path: Path | None = None) -> Path:
        p = path or self.token_file
        p.write_text(tok)
        self.world.extra_secrets.append(tok)
        return p

    @property
    def azure_token(self) -> str:
        return self.token_file.read_text()

    def flags(self, client_id=E.CLIENT_ID, tenant=E.TENANT, token_file="default",
              authority=None) -> list:
        """--azure-* flags (None leaves a flag out)."""
        tf = str(self.token_file) if token_file == "default" else token_file
        out = []
        for flag, v in (("client-id", client_id), ("tenant-id", tenant), ("token-file", tf),
                        ("authority-host", authority)):
            if v is not None:
                out += [f"--azure-{flag}", str(v)]
        return out

    def env(self, client_id=E.CLIENT_ID, tenant=E.TENANT, token_file="default",
            authority=DEFAULT_AUTHORITY) -> dict:
        """The variables the Azure Workload Identity webhook injects."""
        tf = str(self.token_file) if token_file == "default" else token_file
        vals = {"client-id": client_id, "tenant-id": tenant, "token-file": tf,
                "authority-host": authority}
        return {AZURE_FLAGS[k]: str(v) for k, v in vals.items() if v is not None}

    def token_requests(self) -> list:
        return [r for r in self.entra.requests if r.path.endswith("/oauth2/v2.0/token")]

    def close(self):
        try:
            self.world.close()
        finally:
            self.ns.close()
