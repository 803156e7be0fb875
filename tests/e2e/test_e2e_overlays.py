"""Both overlays of deploy/overlays, applied as a user copies and edits them,
run as their CronJob's container against the real API server.

aks-issuer: Google's provider trusts the cluster's issuer; STS verifies the
pod's own TokenRequest token against the API server's /openid/v1/jwks.

entra (the seed's flow): the pod's own TokenRequest token for
api://AzureADTokenExchange is the client assertion at the Entra ID stand-in
(tests/integration/entra.py), which checks it as Entra does, through the API
server's real /openid/v1/jwks and a federated-credential record for
system:serviceaccount:NS:SA; Entra's access token goes to an STS that
accepts only tokens that Entra stand-in signed (issuer
https://sts.windows.net/TENANT/, audience the app ID URI, subject the
managed identity's principal ID); then IAM and the Secret. The credential
config is gcloud's --azure one, unchanged: its IMDS URL is never fetched.
"""
from __future__ import annotations

import base64
import json
import urllib.parse

from harness import expect_failure
from kubecluster import ISSUER
from watch import SecretWatch

DOCKER_USER = "oauth2accesstoken"
AZURE_AUDIENCE = "api://AzureADTokenExchange"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def dockerconfig(secret: dict) -> dict:
    return json.loads(base64.b64decode(secret["data"][".dockerconfigjson"], validate=True))


def assert_secret_holds(w, password: str):
    got = w.get_secret()
    assert got is not None, "no Secret after a successful refresh"
    assert got["type"] == "kubernetes.io/dockerconfigjson"
    auth = dockerconfig(got)["auths"][w.dep.registry]
    assert auth["username"] == DOCKER_USER and auth["password"] == password
    assert base64.b64decode(auth["auth"]).decode() == f"{DOCKER_USER}:{password}"
    return got


# -- aks-issuer ----------------------------------------------------------------------

def test_aks_issuer_overlay_refreshes(aks_workload, aks_google):
    w = aks_workload
    res = w.run()
    assert res.rc == 0, res
    claims = aks_google.sts.verified[-1]
    assert claims["iss"] == ISSUER
    assert claims["sub"] == f"system:serviceaccount:{w.ns}:{w.dep.service_account}"
    assert claims["aud"] == [w.dep.token_audience]
    assert_secret_holds(w, aks_google.iam.issued[-1])


# -- entra -----------------------------------------------------------------------------

def entra_form(g) -> dict:
    reqs = [r for r in g.entra.requests if r.method == "POST"]
    assert len(reqs) == 1, [(r.method, r.target) for r in g.entra.requests]
    return dict(urllib.parse.parse_qsl(reqs[0].body.decode("ascii"), strict_parsing=True))


def test_entra_overlay_refreshes_through_entra(entra_workload, entra_google):
    w, g = entra_workload, entra_google
    res = w.run()
    assert res.rc == 0, res
    # Entra: what Azure's SDKs send for workload identity, to the tenant's endpoint
    req = [r for r in g.entra.requests if r.method == "POST"][0]
    assert req.path == f"/{g.tenant}/oauth2/v2.0/token"
    form = entra_form(g)
    assert form == {"client_id": g.client_id, "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": w.token_file.read_text().strip(),
                    "grant_type": "client_credentials", "scope": f"{g.app_id_uri}/.default"}
    # ... and it accepted the real TokenRequest token, keys from the API server
    assert ISSUER in g.jwks_fetches
    a = g.entra.assertions[-1]
    assert (a["iss"], a["sub"], a["aud"]) == (ISSUER, g.subject, [AZURE_AUDIENCE])
    assert g.entra.refusals == []
    # STS got Entra's token, and only that
    assert len(g.entra.issued) == 1 and len(g.sts.issued) == 1
    c = g.sts.verified[-1]
    assert (c["iss"], c["aud"], c["sub"]) == (f"https://sts.windows.net/{g.tenant}/",
                                              g.app_id_uri, g.identity.principal_id)
    assert c["appid"] == g.client_id
    assert_secret_holds(w, g.iam.issued[-1])


def test_entra_overlay_takes_over_the_old_jobs_secret_in_place(entra_workload, entra_google, cluster):
    """The migration runbook's check: the Secret the old job made with kubectl
    keeps its UID, and a watch sees it modified, never deleted."""
    w = entra_workload
    cluster.kubectl("create", "secret", "docker-registry", w.secret, "-n", w.ns,
                    f"--docker-server={w.dep.registry}", f"--docker-username={DOCKER_USER}",
                    "--docker-password=old-password-from-the-old-job")
    before = w.get_secret()
    with SecretWatch(cluster, w.ns, w.secret, before["metadata"]["resourceVersion"]) as watch:
        res = w.run()
        assert res.rc == 0, res
        after = assert_secret_holds(w, entra_google.iam.issued[-1])
        watch.wait_for_rv(after["metadata"]["resourceVersion"])
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert [e for e, _ in watch.events] == ["MODIFIED"], watch.events


def test_entra_overlay_flags_win_over_the_webhooks_variables(entra_workload, entra_google):
    """With the webhook as well, its variables are there too; the overlay's
    flags win, so its moving token path does not matter."""
    w, g = entra_workload, entra_google
    res = w.run(env={"AZURE_CLIENT_ID": g.client_id, "AZURE_TENANT_ID": g.tenant,
                     "AZURE_FEDERATED_TOKEN_FILE": str(w.dir / "webhook-token-absent")})
    assert res.rc == 0, res
    assert entra_form(g)["client_assertion"] == w.token_file.read_text().strip()


def test_entra_authority_from_regcred_variable_wins_over_the_standard_one(entra_workload,
                                                                         entra_google):
    """flag > REGCRED_* > AZURE_*: REGCRED_AZURE_AUTHORITY_HOST names the
    stand-in, AZURE_AUTHORITY_HOST a port where nothing listens."""
    w, g = entra_workload, entra_google
    res = w.run(env={"REGCRED_AZURE_AUTHORITY_HOST": g.entra.authority,
                     "AZURE_AUTHORITY_HOST": "https://localhost:1/"})
    assert res.rc == 0, res
    assert len(g.entra.issued) == 1


def test_entra_refuses_another_serviceaccounts_token(entra_workload, entra_google, cluster):
    """The federated credential names this ServiceAccount: a real token of
    another one in the same namespace is refused by Entra (AADSTS700213),
    exit 3 at step entra, and STS is never asked."""
    w, g = entra_workload, entra_google
    cluster.kubectl("create", "serviceaccount", "not-regcred", "-n", w.ns, check=False)
    w.token_file.write_text(w.create_token(AZURE_AUDIENCE, sa="not-regcred"))
    res = w.run()
    expect_failure(res, 3, "entra", "AADSTS700213")
    assert g.entra.refusals == [700213]
    assert g.sts.requests == [] and w.get_secret() is None


def test_entra_refuses_a_token_for_another_audience(entra_workload, entra_google):
    """A token for the Google provider's audience (the aks-issuer wiring) is
    not one Entra's federated credential accepts (AADSTS700212)."""
    w, g = entra_workload, entra_google
    w.token_file.write_text(w.create_token("https:" + g.config_template["audience"]))
    res = w.run()
    expect_failure(res, 3, "entra", "AADSTS700212")
    assert g.sts.requests == [] and w.get_secret() is None
