"""The seed's flow (DESIGN.md section 7): a gcloud `--azure` config used
byte for byte, the pod's projected token traded at Entra ID for a managed
identity's token, that token given to STS (which accepts only Entra's),
IAM, the Secret. Everything runs inside a private network namespace where
the stand-ins answer at their real names (azure_world.py); Entra refusals,
retries, missing settings and the authority host are covered here too.
"""
from __future__ import annotations

import json
import os
import sys
import urllib.parse

import pytest

import entra as E
import gcloud_fixtures as G
import standins as S
from harness import NAMESPACE, REGISTRY, SECRET, decode_dockercfg, expect_failure

TOKEN_PATH = f"/{E.TENANT}/oauth2/v2.0/token"
TOKEN_URL = f"https://login.microsoftonline.com{TOKEN_PATH}"


def form_of(req) -> dict:
    pairs = urllib.parse.parse_qsl(req.body.decode("ascii"), keep_blank_values=True,
                                   strict_parsing=True)
    d = dict(pairs)
    assert len(d) == len(pairs), f"duplicate form fields: {pairs}"
    return d


def contract_form(az, scope_resource=G.APP_ID_URI) -> dict:
    return {"client_id": E.CLIENT_ID, "client_assertion_type": E.ASSERTION_TYPE,
            "client_assertion": az.azure_token, "grant_type": "client_credentials",
            "scope": f"{scope_resource}/.default"}


def assert_whole_chain(az, res, scope_resource=G.APP_ID_URI, host="login.microsoftonline.com"):
    """Entra once (the contract's request), STS with Entra's token, IAM, the Secret."""
    w = az.world
    assert res.rc == 0, res
    reqs = az.token_requests()
    assert len(reqs) == 1, [r.target for r in az.entra.requests]
    r = reqs[0]
    assert r.method == "POST" and r.target == TOKEN_PATH, r.target
    assert r.header_all("Host") == [host]
    assert r.header_all("Content-Type") == ["application/x-www-form-urlencoded"]
    assert r.header_all("Accept") == ["application/json"]
    assert r.header_all("Authorization") == []
    assert form_of(r) == contract_form(az, scope_resource)
    assert az.imds.connections == 0, "IMDS called although the Entra settings were given"
    assert len(az.entra.issued) == 1 and len(w.sts.verified) == 1
    assert w.sts.requests[0].header("Host") == "sts.googleapis.com"
    sts_form = dict(urllib.parse.parse_qsl(w.sts.requests[0].body.decode()))
    assert sts_form["subject_token"] == az.entra.issued[0]
    assert sts_form["subject_token_type"] == S.JWT_TYPE
    assert sts_form["audience"] == G.ENTRA_AUDIENCE
    assert w.sts.verified[0]["aud"] == scope_resource
    assert w.sts.verified[0]["sub"] == az.identity.principal_id
    assert len(w.iam.requests) == 1 and w.iam.requests[0].header("Host") == \
        "iamcredentials.googleapis.com"
    assert w.kube.methods() == ["PATCH"]
    cfg = json.loads(decode_dockercfg(w.kube.get(NAMESPACE, SECRET)))
    assert cfg["auths"][REGISTRY]["password"] == w.iam.issued[0]


# -- the seed's flow ---------------------------------------------------------

def test_entra_hop_gcloud_config_byte_for_byte_with_flags(regcred, az):
    data = G.path("gcloud-azure-app-id-uri.json").read_bytes()
    assert az.world.config_path.read_bytes() == data
    res = az.world.run(regcred, az.world.args(extra=az.flags()))
    assert_whole_chain(az, res)
    assert az.world.config_path.read_bytes() == data
    assert az.jwks_fetches and set(az.jwks_fetches) == {az.issuer.url}
    assert az.entra.assertions[0]["sub"] == E.SA_SUBJECT


def test_entra_hop_with_the_webhook_variables(regcred, az):
    res = az.world.run(regcred, az.world.args(), env=az.env())
    assert_whole_chain(az, res)


def test_entra_hop_default_authority_when_no_host_given(regcred, az):
    res = az.world.run(regcred, az.world.args(), env=az.env(authority=None))
    assert_whole_chain(az, res)


def test_entra_hop_gcloud_config_without_app_id_uri(regcred, az):
    az.use_fixture("gcloud-azure-default.json")
    res = az.world.run(regcred, az.world.args(extra=az.flags()))
    assert_whole_chain(az, res, scope_resource=G.DEFAULT_RESOURCE)


def test_entra_token_file_is_reread_every_run(regcred, az):
    res = az.world.run(regcred, az.world.args(extra=az.flags()))
    assert res.rc == 0, res
    az.set_azure_token(az.issuer.token())
    res = az.world.run(regcred, az.world.args(extra=az.flags()))
    assert res.rc == 0, res
    reqs = az.token_requests()
    assert [form_of(r)["client_assertion"] for r in reqs][1] == az.azure_token


def test_entra_token_file_trailing_whitespace_trimmed(regcred, az):
    tok = az.issuer.token()
    az.set_azure_token(tok)
    az.token_file.write_text(tok + "\n\n")
    res = az.world.run(regcred, az.world.args(extra=az.flags()))
    assert res.rc == 0, res
    assert form_of(az.token_requests()[0])["client_assertion"] == tok


# -- precedence: flag > REGCRED_ > AZURE_ ----------------------------------

def _layers(az, setting, good, bad):
    """(flags, env) triples in which only the highest layer has `good`."""
    var = {"client-id": "AZURE_CLIENT_ID", "tenant-id": "AZURE_TENANT_ID",
           "token-file": "AZURE_FEDERATED_TOKEN_FILE",
           "authority-host": "AZURE_AUTHORITY_HOST"}[setting]
    reg = "REGCRED_AZURE_" + setting.upper().replace("-", "_")
    base = az.env()
    base.pop(var, None)
    flag = [f"--azure-{setting}", good]
    return [("flag", flag, dict(base, **{reg: bad, var: bad})),
            ("REGCRED_", [], dict(base, **{reg: good, var: bad})),
            ("AZURE_", [], dict(base, **{var: good}))]


@pytest.mark.parametrize("setting", ["client-id", "tenant-id", "token-file", "authority-host"])
def test_entra_setting_precedence_flag_regcred_azure(regcred, az, setting):
    other = az.world.dir / "other-token"
    az.set_azure_token(az.issuer.token(sub="system:serviceaccount:other:other"), other)
    good, bad = {
        "client-id": (E.CLIENT_ID, "11111111-2222-3333-4444-555555555555"),
        "tenant-id": (E.TENANT, "99999999-8888-7777-6666-555555555555"),
        "token-file": (str(az.token_file), str(other)),
        "authority-host": ("https://login.microsoftonline.com/",
                           "https://login.microsoftonline.us/"),
    }[setting]
    for layer, flags, env in _layers(az, setting, good, bad):
        n = len(az.token_requests())
        res = az.world.run(regcred, az.world.args(extra=flags), env=env)
        assert res.rc == 0, f"{setting} from {layer} did not win\n{res}"
        r = az.token_requests()[n]
        assert r.header("Host") == "login.microsoftonline.com", (layer, r.header("Host"))
        assert form_of(r) == contract_form(az), layer


# -- the authority host ------------------------------------------------------

@pytest.mark.parametrize("host", ["login.microsoftonline.us", "https://login.microsoftonline.us",
                                  "https://login.microsoftonline.us/"],
                         ids=["no-scheme", "no-slash", "full"])
def test_entra_authority_host_forms(regcred, az, host):
    res = az.world.run(regcred, az.world.args(extra=az.flags(authority=host)))
    assert_whole_chain(az, res, host="login.microsoftonline.us")


@pytest.mark.parametrize("how", ["flag", "variable"])
def test_entra_authority_host_http_refused(regcred, az_seeded, az, how):
    host = "http://login.microsoftonline.us/"
    if how == "flag":
        res = az.world.run(regcred, az.world.args(extra=az.flags(authority=host)))
    else:
        res = az.world.run(regcred, az.world.args(), env=az.env(authority=host))
    expect_failure(res, 2, "config",
                   "--azure-authority-host" if how == "flag" else "AZURE_AUTHORITY_HOST", "https")
    assert az.world.network_requests() == 0


# -- settings missing ----------------------------------------------------------

@pytest.mark.parametrize("missing", ["client-id", "tenant-id", "token-file"])
@pytest.mark.parametrize("how", ["flags", "variables"])
def test_entra_one_setting_missing_names_it(regcred, az_seeded, az, missing, how):
    var = {"client-id": "AZURE_CLIENT_ID", "tenant-id": "AZURE_TENANT_ID",
           "token-file": "AZURE_FEDERATED_TOKEN_FILE"}[missing]
    if how == "flags":
        kw = {"client-id": {"client_id": None}, "tenant-id": {"tenant": None},
              "token-file": {"token_file": None}}[missing]
        res = az.world.run(regcred, az.world.args(extra=az.flags(**kw)))
    else:
        env = az.env()
        env.pop(var)
        res = az.world.run(regcred, az.world.args(), env=env)
    expect_failure(res, 2, "config", f"--azure-{missing}", var)
    assert az.world.network_requests() == 0, "network used although a setting is missing"


def test_entra_two_settings_missing_names_both(regcred, az_seeded, az):
    res = az.world.run(regcred, az.world.args(extra=az.flags(client_id=None, token_file=None)))
    expect_failure(res, 2, "config", "--azure-client-id", "AZURE_CLIENT_ID",
                   "--azure-token-file", "AZURE_FEDERATED_TOKEN_FILE")
    assert az.world.network_requests() == 0


def test_entra_token_file_missing_on_disk(regcred, az_seeded, az):
    res = az.world.run(regcred, az.world.args(extra=az.flags(
        token_file=str(az.world.dir / "nope"))))
    assert res.rc == 3, res
    assert str(az.world.dir / "nope") in res.stderr, res
    assert az.world.network_requests() == 0


# -- Entra's refusals -------------------------------------------------------------

def _refusal_cases(az):
    other = E.Issuer(url=az.issuer.url)          # same issuer URL and kid, another key
    other.signer.kid = az.issuer.signer.kid
    other.signer._jwk["kid"] = az.issuer.signer.kid
    return {
        "tenant-not-found": ({"tenant": "00000000-0000-0000-0000-00000000beef"}, None,
                             400, "invalid_request", 90002, "Tenant '00000000-0000-0000-0000-00000000beef' not found"),
        "application-not-found": ({"client_id": "11111111-2222-3333-4444-555555555555"}, None,
                                  400, "unauthorized_client", 700016,
                                  "Application with identifier '11111111-2222-3333-4444-555555555555' was not found"),
        "no-matching-subject": ({}, az.issuer.token(sub="system:serviceaccount:bifrost:other"),
                                401, "invalid_client", 700213,
                                "No matching federated identity record found for presented assertion subject"),
        "no-matching-issuer": ({}, az.issuer.token(iss="https://issuer.example/other/"),
                               401, "invalid_client", 700211,
                               "No matching federated identity record found for presented assertion issuer"),
        "no-matching-audience": ({}, az.issuer.token(aud="api://something-else"),
                                 401, "invalid_client", 700212,
                                 "No matching federated identity record found for presented assertion audience"),
        "assertion-expired": ({}, az.issuer.token(iat_offset=-7200, lifetime=3600),
                              401, "invalid_client", 700024,
                              "Client assertion is not within its valid time range"),
        "bad-signature": ({}, other.token(), 400, "invalid_request", 50027,
                          "Invalid JWT token. External ID token from issuer"),
    }


REFUSALS = ["tenant-not-found", "application-not-found", "no-matching-subject",
            "no-matching-issuer", "no-matching-audience", "assertion-expired", "bad-signature"]


@pytest.mark.parametrize("case", REFUSALS)
def test_entra_refusal_exit_3_quoted(regcred, az_seeded, az, case):
    flags_kw, token, status, error, code, words = _refusal_cases(az)[case]
    if token is not None:
        az.set_azure_token(token)
    res = az.world.run(regcred, az.world.args(extra=az.flags(**flags_kw)))
    tenant = flags_kw.get("tenant", E.TENANT)
    expect_failure(res, 3, "entra",
                   f"POST https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
                   f"HTTP {status}", f"{error}: AADSTS{code}: {words[:60]}")
    assert az.entra.refusals == [code]
    assert len(az.token_requests()) == 1, "a 4xx from Entra must not be retried"
    assert az.world.sts.connections == 0 and az.world.iam.connections == 0
    assert az.imds.connections == 0
    line = [l for l in res.lines() if l.startswith("regcred: error entra: ")][0]
    assert "\r" not in line and "Trace ID" not in line.split(f"AADSTS{code}")[0]


@pytest.mark.parametrize("code,status,error,message", [
    (1002012, 400, "invalid_scope", E.msg_bad_scope("api://regcred-google-wif")),
    (7000215, 401, "invalid_client",
     "Invalid client secret provided. Ensure the secret being sent in the request is the client "
     "secret value, not the client secret ID, for a secret added to app '5d1f1d3c'."),
], ids=["1002012-scope", "7000215"])
def test_entra_canned_refusal(regcred, az_seeded, az, code, status, error, message):
    az.entra.inject(E.aadsts_fault(status, error, code, message), times=None)
    res = az.world.run(regcred, az.world.args(extra=az.flags()))
    expect_failure(res, 3, "entra", TOKEN_URL, f"HTTP {status}",
                   f"{error}: AADSTS{code}: {message[:40]}")
    assert len(az.token_requests()) == 1


def test_entra_error_line_cut_at_200_bytes(regcred, az_seeded, az):
    long = "x" * 1000
    az.entra.inject(E.aadsts_fault(400, "invalid_request", 9002313, "Invalid request. " + long),
                    times=None)
    res = az.world.run(regcred, az.world.args(extra=az.flags()))
    expect_failure(res, 3, "entra", "AADSTS9002313")
    line = [l for l in res.lines() if l.startswith("regcred: error entra: ")][0]
    assert "x" * 200 not in line, line


# -- retries ---------------------------------------------------------------------------

@pytest.mark.parametrize("fault", [
    E.aadsts_fault(503, "temporarily_unavailable", 90033,
                   "A transient error has occurred. Please try again.", headers=[("Retry-After", "1")]),
    E.aadsts_fault(500, "server_error", 90100, "Unexpected error."),
    E.aadsts_fault(429, "temporarily_unavailable", 90055,
                   "Too many requests. Please retry later.", headers=[("Retry-After", "1")]),
    S.RESET,
], ids=["503", "500", "429", "reset"])
def test_entra_transient_failure_retried_then_success(regcred, az, fault):
    az.entra.inject(fault, times=1)
    res = az.world.run(regcred, az.world.args(extra=az.flags()))
    assert res.rc == 0, res
    assert az.entra.connections == 2
    assert len(az.entra.issued) == 1 and len(az.world.sts.verified) == 1
    assert any("entra" in l for l in res.lines() if l != ""), res


def test_entra_persistent_503_gives_up_within_timeout(regcred, az_seeded, az):
    az.entra.inject(E.aadsts_fault(503, "temporarily_unavailable", 90033,
                                   "A transient error has occurred. Please try again."), times=None)
    res = az.world.run(regcred, az.world.args(timeout=4, extra=az.flags()), timeout=30)
    expect_failure(res, 3, "entra", TOKEN_URL, "HTTP 503")
    assert len(az.entra.requests) >= 2, "5xx must be retried"
    assert res.seconds < 4 + 3
    assert az.world.sts.connections == 0


@pytest.mark.parametrize("body", [
    '{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599}',
    '<html><body>Sign in to your account</body></html>',
    '{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":""}',
], ids=["no-access-token", "html", "empty-token"])
def test_entra_bad_success_body(regcred, az_seeded, az, body):
    az.entra.inject(S.status_fault(200, body, content_type=E.ENTRA_CTYPE, chunked=False),
                    times=None)
    res = az.world.run(regcred, az.world.args(extra=az.flags()))
    expect_failure(res, 3, "entra", TOKEN_URL)
    assert az.world.sts.connections == 0


def test_sts_refuses_a_token_entra_did_not_issue(regcred, az_seeded, az):
    """The STS stand-in accepts only Entra's tokens: the projected token itself
    (what a provider trusting the AKS issuer would take) is refused."""
    az.world.write_config({
        **json.loads(G.path("gcloud-azure-app-id-uri.json").read_bytes()),
        "credential_source": {"file": str(az.token_file), "format": {"type": "text"}}})
    res = az.world.run(regcred, az.world.args())
    expect_failure(res, 3, "sts", "HTTP 400", "invalid_grant")
    assert az.world.sts.refusals


# -- the request, field by field, against Azure's own SDK --------------------------------

AZURE_IDENTITY_SCRIPT = r"""
import sys
from azure.identity import WorkloadIdentityCredential
tenant, client, token_file, scope = sys.argv[1:5]
cred = WorkloadIdentityCredential(tenant_id=tenant, client_id=client, token_file_path=token_file,
                                  authority="login.microsoftonline.com",
                                  disable_instance_discovery=True)
tok = cred.get_token(scope)
print("ok", len(tok.token), tok.expires_on > 0)
"""

# What azure-identity 1.27.0 sends (observed here; WorkloadIdentityCredential
# posts through its own AadClient over azure-core/requests, not MSAL's
# ConfidentialClientApplication, so no client_info field and no
# openid-configuration fetch for login.microsoftonline.com):
#   POST /<tenant>/oauth2/v2.0/token, form exactly client_assertion,
#   client_assertion_type, client_id, grant_type, scope (the contract's five).
# Header differences, none of which Entra needs: azure-identity sends
# User-Agent: azsdk-python-identity/1.27.0 Python/... , Accept-Encoding: gzip,
# deflate, Accept: */*, Connection: keep-alive, x-ms-client-request-id: <uuid>;
# regcred sends Accept: application/json and none of the others.
def test_regcred_entra_form_equals_azure_identity_workload_identity_credential(regcred, pki,
                                                                               tmp_path):
    pytest.importorskip("azure.identity")
    import netns
    if netns.available():
        pytest.skip(netns.available())
    from azure_world import AzureWorld
    az = AzureWorld(pki, tmp_path / "az")
    try:
        w = az.world
        res = w.run(sys.executable, ["-c", AZURE_IDENTITY_SCRIPT, E.TENANT, E.CLIENT_ID,
                                     str(az.token_file), G.APP_ID_URI + "/.default"],
                    env={"REQUESTS_CA_BUNDLE": w.sts.cert.root_file,
                         "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                         "AZURE_IDENTITY_DISABLE_CP1": "1"}, timeout=60)
        assert res.rc == 0 and res.stdout.startswith(b"ok"), res
        sdk = az.token_requests()
        assert len(sdk) == 1
        assert [r.target for r in az.entra.requests] == [sdk[0].target]

        res = w.run(regcred, w.args(extra=az.flags()))
        assert res.rc == 0, res
        ours = az.token_requests()[1]
        theirs = sdk[0]
        assert (ours.method, ours.target) == (theirs.method, theirs.target)
        assert ours.header("Host") == theirs.header("Host")
        assert ours.header("Content-Type") == theirs.header("Content-Type")
        assert theirs.header("Accept") == "*/*" and ours.header("Accept") == "application/json"
        f_ours, f_theirs = form_of(ours), form_of(theirs)
        expected = f_theirs
        assert sorted(f_ours) == sorted(expected), (sorted(f_ours), sorted(expected))
        for k in expected:
            assert f_ours[k] == expected[k], f"field {k}: regcred {f_ours[k]!r}, " \
                                             f"azure-identity {expected[k]!r}"
        assert az.entra.assertions[0]["sub"] == az.entra.assertions[1]["sub"]
    finally:
        az.close()
