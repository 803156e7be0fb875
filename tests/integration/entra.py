"""Azure stand-ins for the Entra ID hop (DESIGN.md section 7): an AKS-like
OIDC issuer, Entra ID's token endpoint, Azure IMDS, and a Google STS whose
provider trusts Entra ID.

    issuer = Issuer()                                  # the cluster's OIDC issuer
    sa_token = issuer.token()                          # projected token, aud api://AzureADTokenExchange
    mi = ManagedIdentity(client_id=CLIENT_ID, principal_id=PRINCIPAL_ID,
                         federated=[FederatedCredential(issuer.url, SA_SUBJECT)])
    entra = Entra(cert, tenant=TENANT, identities=[mi], app_id_uris=[APP_ID_URI],
                  jwks_fetch=lambda iss: issuer.jwks())   # e2e: the apiserver's /openid/v1/jwks
    entra.authority           # "https://localhost:PORT/": what --azure-authority-host names
    entra.token_url()         # .../TENANT/oauth2/v2.0/token
    entra.issued              # access tokens it issued; entra.assertions: claims it accepted
    entra.refusals            # AADSTS codes it answered with (legitimate refusals)
    entra.inject(aadsts_fault(503, ...))               # faults as for every StandIn
    sts = EntraSTS(cert, AUDIENCE, entra=entra, app_id_uri=APP_ID_URI,
                   principal_id=mi.principal_id)     # accepts only entra's tokens
    imds = IMDS(identity=mi, entra=entra, bind="169.254.169.254", port=80)   # netns only!

Entra (a StandIn, TLS) serves
  POST /<tenant>/oauth2/v2.0/token            client credentials with a federated assertion
  GET  /<tenant>/v2.0/.well-known/openid-configuration   what MSAL fetches first
  GET  /<tenant>/discovery/v2.0/keys          its signing keys (entra.jwks())
It checks the request as strictly as Entra (anything a correct client would
never send is a violation) and the assertion as Entra does: a JWT signed by
a key of the issuer's JWKS, `iss`, `aud` and `sub` matched against the
managed identity's federated identity credentials, exp/nbf/iat. Refusals a
test provokes on purpose (unknown tenant or client, no matching record,
expired assertion, bad signature) are Entra's real answers with their HTTP
status and AADSTS code, recorded in `refusals`, not violations. It issues
v1 access tokens as Entra does for an app ID URI resource (iss
https://sts.windows.net/<tenant>/, aud the app ID URI, sub/oid the managed
identity's principal ID, appid its client ID), RS256 with kid/x5t, about
1.6 KB long.

IMDS is plain HTTP (StandIn.tls = False): GET
/metadata/identity/oauth2/token?api-version=...&resource=R with `Metadata:
true` answers in IMDS's format (every value a string) with a token that
`entra` mints for the identity, so EntraSTS accepts it too. Never bind it
on the host's own network: only inside a netns.NetNS.
"""
from __future__ import annotations

import datetime
import json
import re
import secrets
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field

import jwt_util as J
import standins as S

AZURE_AUDIENCE = "api://AzureADTokenExchange"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
TOKEN_FIELDS = {"client_id", "client_assertion_type", "client_assertion", "grant_type", "scope"}
CLOCK_SKEW = 300            # Entra allows five minutes
MAX_ASSERTION_LIFETIME = 25 * 3600     # "1.01:00:00"
WIF_DOC = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation"

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
CLIENT_ID = "5d1f1d3c-6b2a-4c1e-9a55-0c4f8e2b7a10"
PRINCIPAL_ID = "0b7c3c86-2a4e-4b8e-8f61-3f0a9d52c7e4"
APP_ID_URI = "api://regcred-google-wif"
SA_SUBJECT = "system:serviceaccount:bifrost:regcred"


def _now() -> int:
    return int(time.time())


def _entra_time(t: float) -> str:
    """2025-10-13T14:54:34.0000000Z, as AADSTS700024 writes times."""
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.0000000Z")


def _filler(n: int) -> str:
    return J.b64url_encode(secrets.token_bytes(n))


# --------------------------------------------------------------------------
# The workload's OIDC issuer (an AKS cluster)
# --------------------------------------------------------------------------

class Issuer:
    """An OIDC issuer that signs Kubernetes-style service-account tokens."""

    def __init__(self, url: str | None = None):
        self.url = url or f"https://eastus.oic.prod-aks.azure.com/{TENANT}/{uuid.uuid4()}/"
        self.signer = J.RS256Signer(kid=_filler(32))

    def jwks(self) -> dict:
        return self.signer.jwks()

    def token(self, sub: str = SA_SUBJECT, aud=AZURE_AUDIENCE, lifetime: int = 3600,
              iat_offset: int = 0, iss: str | None = None, **over) -> str:
        """A projected service-account token; over: claim=value (None drops it)."""
        now = _now() + iat_offset
        ns, sa = (sub.split(":") + ["", "", "", ""])[2:4]
        claims = {
            "aud": [aud] if isinstance(aud, str) else list(aud),
            "exp": now + lifetime, "iat": now, "iss": iss or self.url,
            "jti": str(uuid.uuid4()),
            "kubernetes.io": {"namespace": ns,
                              "node": {"name": "aks-nodepool1-12345678-vmss000000",
                                       "uid": str(uuid.uuid4())},
                              "pod": {"name": f"{sa}-29345678-abcde", "uid": str(uuid.uuid4())},
                              "serviceaccount": {"name": sa, "uid": str(uuid.uuid4())}},
            "nbf": now, "sub": sub}
        for k, v in over.items():
            if v is None:
                claims.pop(k, None)
            else:
                claims[k] = v
        # Kubernetes' header is {"alg":"RS256","kid":"..."}: no typ
        return self.signer.sign(claims, header={"typ": None})


# --------------------------------------------------------------------------
# Entra ID
# --------------------------------------------------------------------------

@dataclass
class FederatedCredential:
    """az identity federated-credential create --issuer --subject --audiences"""
    issuer: str
    subject: str
    audiences: list = field(default_factory=lambda: [AZURE_AUDIENCE])
    name: str = "regcred"


@dataclass
class ManagedIdentity:
    client_id: str = CLIENT_ID
    principal_id: str = PRINCIPAL_ID
    federated: list = field(default_factory=list)
    name: str = "regcred-puller"
    resource_group: str = "rg-regcred"
    subscription: str = "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"

    @property
    def resource_id(self) -> str:
        return (f"/subscriptions/{self.subscription}/resourcegroups/{self.resource_group}"
                f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{self.name}")


def aadsts_body(error: str, code: int, message: str, correlation_id: str | None = None) -> dict:
    """Entra's error document: description with CRLF-separated trace lines."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    trace, corr = str(uuid.uuid4()), correlation_id or str(uuid.uuid4())
    return {"error": error,
            "error_description": f"AADSTS{code}: {message}\r\nTrace ID: {trace}\r\n"
                                 f"Correlation ID: {corr}\r\nTimestamp: {now}",
            "error_codes": [code], "timestamp": now, "trace_id": trace,
            "correlation_id": corr,
            "error_uri": f"https://login.microsoftonline.com/error?code={code}"}


ENTRA_CTYPE = "application/json; charset=utf-8"


def aadsts_fault(status: int, error: str, code: int, message: str, headers=None) -> S.Fault:
    """A canned Entra error for StandIn.inject()."""
    return S.status_fault(status, json.dumps(aadsts_body(error, code, message),
                                             separators=(",", ":")),
                          headers=headers, chunked=False, content_type=ENTRA_CTYPE)


# The refusals tests provoke, in Entra's words (HTTP status, error, code).
def msg_tenant_not_found(t):
    return (f"Tenant '{t}' not found. Check to make sure you have the correct tenant ID and are "
            "signing into the correct cloud. Check with your subscription administrator, this may "
            "happen if there are no active subscriptions for the tenant.")


def msg_app_not_found(c, directory):
    return (f"Application with identifier '{c}' was not found in the directory '{directory}'. "
            "This can happen if the application has not been installed by the administrator of "
            "the tenant or consented to by any user in the tenant. You may have sent your "
            "authentication request to the wrong tenant.")


def msg_no_record(what, value):
    return (f"No matching federated identity record found for presented assertion {what} "
            f"'{value}'. Check your federated identity credential Subject, Audience and Issuer "
            f"against the presented assertion. {WIF_DOC}")


def msg_time_range(nbf, exp):
    return (f"Client assertion is not within its valid time range. Current time: "
            f"{_entra_time(time.time())}, assertion valid from {_entra_time(nbf)}, expiry time of "
            f"assertion {_entra_time(exp)}. Review the documentation at "
            "https://learn.microsoft.com/entra/identity-platform/certificate-credentials .")


def msg_bad_scope(scope):
    return (f"The provided value for scope {scope} is not valid. Client credential flows must "
            "have a scope value with /.default suffixed to the resource identifier (application "
            "ID URI).")


class Entra(S.StandIn):
    """login.microsoftonline.com: the v2.0 token endpoint, client credentials
    with a federated client assertion (workload identity)."""
    name = "entra"
    PATH = re.compile(r"^/([^/]+)/(oauth2/v2\.0/token|v2\.0/\.well-known/openid-configuration|"
                      r"discovery/v2\.0/keys)$")

    def __init__(self, cert, *, tenant: str = TENANT, identities=(), app_id_uris=(APP_ID_URI,),
                 jwks_fetch=None, directory: str = "Default Directory",
                 extra_host_names=(), tolerate_fields=(), expires_in: int = 3599, **listen):
        """jwks_fetch(issuer_url) -> JWKS dict: how Entra gets an issuer's keys
        (from its discovery document); refetched when a kid is unknown.
        tolerate_fields: form fields Entra accepts that regcred does not send
        (MSAL's client_info) and that are then not violations."""
        self.tenant = tenant
        self.tenants = {tenant}
        self.identities = {m.client_id: m for m in identities}
        self.app_id_uris = set(app_id_uris)
        self.directory = directory
        self.jwks_fetch = jwks_fetch
        self.tolerate_fields = set(tolerate_fields)
        self.expires_in = expires_in
        self.extra_host_names = set(extra_host_names)
        self.signer = J.RS256Signer(x5t=True)
        self._keys: dict = {}              # issuer -> {kid: key}
        self._jwks_lock = threading.Lock()
        self.issued: list[str] = []
        self.assertions: list[dict] = []   # claims of accepted client assertions
        self.refusals: list[int] = []      # AADSTS codes answered
        super().__init__(cert, **listen)

    # -- addresses -----------------------------------------------------------
    @property
    def authority(self) -> str:
        return self.base_url + "/"

    def token_url(self, tenant: str | None = None) -> str:
        return f"{self.base_url}/{tenant or self.tenant}/oauth2/v2.0/token"

    def jwks(self) -> dict:
        return self.signer.jwks()

    def extra_headers(self) -> list:
        return [("Cache-Control", "no-store, no-cache"), ("Pragma", "no-cache"),
                ("Expires", "-1"),
                ("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),
                ("X-Content-Type-Options", "nosniff"),
                ("P3P", 'CP="DSP CUR OTPi IND OTRi ONL FIN"'),
                ("x-ms-request-id", str(uuid.uuid4())),
                ("x-ms-ests-server", "2.1.21874.5 - SCUS ProdSlices"),
                ("x-ms-srs", "1.P"), ("X-XSS-Protection", "0"),
                ("Set-Cookie", f"fpc={_filler(30)}; expires=Sat, 01-Jan-2050 00:00:00 GMT; "
                               "path=/; secure; HttpOnly; SameSite=None"),
                ("Set-Cookie", "x-ms-gateway-slice=estsfd; path=/; secure; samesite=none; httponly"),
                ("Set-Cookie", "stsservicecookie=estsfd; path=/; secure; samesite=none; httponly")]

    def _common_checks(self, req: S.Request):
        names = {self.host_name} | self.extra_host_names
        ok = {n if self.port == 443 else f"{n}:{self.port}" for n in names}
        hosts = req.header_all("Host")
        if len(hosts) != 1 or hosts[0] not in ok:
            raise S.Reject(f"Host header {hosts!r}, want one of {sorted(ok)!r}",
                           self.error_response(400, "Bad Request", "BadRequest"))
        if not req.target.startswith("/"):
            raise S.Reject(f"request target not origin-form: {req.target!r}",
                           self.error_response(400, "Bad Request", "BadRequest"))

    # -- answers ---------------------------------------------------------------
    def aadsts(self, status: int, error: str, code: int, message: str, req=None) -> S.Response:
        corr = req.header("client-request-id") if req is not None else None
        with self._lock:
            self.refusals.append(code)
        return S.Response(status, json.dumps(aadsts_body(error, code, message, corr),
                                             separators=(",", ":")).encode(),
                          content_type=ENTRA_CTYPE, chunked=False)

    def error_response(self, status, message, reason="invalid_request") -> S.Response:
        return S.Response(status, json.dumps(aadsts_body("invalid_request", 900144, message),
                                             separators=(",", ":")).encode(),
                          content_type=ENTRA_CTYPE, chunked=False)

    def truncated_body(self) -> bytes:
        return b'{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyJ0'

    def _bad(self, why: str, code: int, message: str, error="invalid_request", status=400):
        """A request a correct client never sends: Entra's answer, and a violation."""
        return S.Reject(why, S.Response(status, json.dumps(aadsts_body(error, code, message),
                                                           separators=(",", ":")).encode(),
                                        content_type=ENTRA_CTYPE, chunked=False))

    # -- routing ----------------------------------------------------------------
    def handle(self, req: S.Request) -> S.Response:
        m = self.PATH.match(req.path)
        if not m:
            raise S.Reject(f"{req.method} {req.target}", S.Response(
                404, b"", content_type=None, chunked=False))
        tenant, what = m.group(1), m.group(2)
        if what == "oauth2/v2.0/token":
            if req.method != "POST":
                raise self._bad(f"{req.method} on the token endpoint", 900561,
                                f"The endpoint only accepts POST, OPTIONS requests. Received a "
                                f"{req.method} request.")
            return self._token(req, tenant)
        if req.method != "GET" or req.query:
            raise self._bad(f"{req.method} {req.target}", 900561,
                            f"The endpoint only accepts GET requests. Received a {req.method} request.")
        if tenant not in self.tenants:
            return self.aadsts(400, "invalid_tenant", 90002, msg_tenant_not_found(tenant), req)
        if what.startswith("discovery"):
            return S.Response(200, json.dumps(self.jwks()).encode(), content_type=ENTRA_CTYPE,
                              chunked=False)
        return S.Response(200, json.dumps(self.discovery(tenant)).encode(),
                          content_type=ENTRA_CTYPE, chunked=False)

    def discovery(self, tenant: str) -> dict:
        b, real = f"{self.base_url}/{tenant}", f"https://login.microsoftonline.com/{tenant}"
        return {
            "token_endpoint": f"{b}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "jwks_uri": f"{b}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{b}/v2.0" if self.host_name != "login.microsoftonline.com" else f"{real}/v2.0",
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
            "authorization_endpoint": f"{b}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{b}/oauth2/v2.0/devicecode",
            "http_logout_supported": True, "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{b}/oauth2/v2.0/logout",
            "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                                 "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat",
                                 "auth_time", "acr", "nonce", "preferred_username", "name", "tid",
                                 "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": f"{b}/kerberos",
            "tenant_region_scope": "WW", "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net"}

    # -- the token request ----------------------------------------------------------
    def _form(self, req: S.Request) -> dict:
        ctype = req.header("Content-Type") or ""
        if ctype.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            raise self._bad(f"Content-Type {ctype!r}", 900144,
                            "The request body must contain the following parameter: 'grant_type'.")
        accept = req.header("Accept")
        if accept is not None and not re.search(r"(^|,)\s*(application/json|application/\*|\*/\*)",
                                                accept):
            raise self._bad(f"Accept {accept!r} excludes JSON", 900144, "Unsupported Accept header.")
        try:
            pairs = urllib.parse.parse_qsl(req.body.decode("ascii"), keep_blank_values=True,
                                           strict_parsing=True, errors="strict", max_num_fields=20)
        except (UnicodeDecodeError, ValueError) as e:
            raise self._bad(f"body not form-encoded: {e}", 900144,
                            "The request body must contain the following parameter: 'grant_type'.")
        form: dict = {}
        for k, v in pairs:
            if k in form:
                raise self._bad(f"duplicate field {k}", 90015,
                                f"Requested query string is too long or has a duplicate parameter '{k}'.")
            form[k] = v
        extra = set(form) - TOKEN_FIELDS - self.tolerate_fields
        if extra:
            # Entra ignores unknown fields; a client that sends them is not doing
            # what Azure's SDKs do (DESIGN.md section 7), so it is a violation.
            raise self._bad(f"fields beyond the contract: {sorted(extra)}", 900144,
                            f"Unexpected parameter(s) {sorted(extra)} (stand-in).")
        for k in ("grant_type", "client_id", "scope", "client_assertion_type", "client_assertion"):
            if not form.get(k):
                code = 7000216 if k.startswith("client_assertion") else 900144
                msg = ("'client_assertion', 'client_secret' or 'request' is required for the "
                       "'client_credentials' grant type." if code == 7000216 else
                       f"The request body must contain the following parameter: '{k}'.")
                raise self._bad(f"field {k} missing or empty", code, msg,
                                "invalid_client" if code == 7000216 else "invalid_request",
                                401 if code == 7000216 else 400)
        return form

    def _token(self, req: S.Request, tenant: str) -> S.Response:
        form = self._form(req)
        if form["grant_type"] != "client_credentials":
            raise self._bad(f"grant_type {form['grant_type']!r}", 70003,
                            f"The app requested an unsupported grant type '{form['grant_type']}'.",
                            "unsupported_grant_type")
        if form["client_assertion_type"] != ASSERTION_TYPE:
            # (wording approximated: Entra names the parameter as invalid)
            raise self._bad(f"client_assertion_type {form['client_assertion_type']!r}", 50027,
                            "Invalid JWT token. Unsupported client_assertion_type.")
        scope = form["scope"]
        if not scope.endswith("/.default") or " " in scope:
            raise self._bad(f"scope {scope!r}", 1002012, msg_bad_scope(scope), "invalid_scope")
        if tenant not in self.tenants:
            return self.aadsts(400, "invalid_request", 90002, msg_tenant_not_found(tenant), req)
        mi = self.identities.get(form["client_id"])
        if mi is None:
            return self.aadsts(400, "unauthorized_client", 700016,
                               msg_app_not_found(form["client_id"], self.directory), req)
        refused = self.check_assertion(form["client_assertion"], mi, req)
        if refused is not None:
            return refused
        resource = scope[: -len("/.default")]
        if resource not in self.app_id_uris:
            return self.aadsts(400, "invalid_resource", 500011,
                               f"The resource principal named {resource} was not found in the "
                               f"tenant named {self.directory}. This can happen if the application "
                               "has not been installed by the administrator of the tenant or "
                               "consented to by any user in the tenant. You might have sent your "
                               "authentication request to the wrong tenant.", req)
        tok = self.mint(mi, resource, self.expires_in)
        return S.Response(200, json.dumps({"token_type": "Bearer", "expires_in": self.expires_in,
                                           "ext_expires_in": self.expires_in,
                                           "access_token": tok},
                                          separators=(",", ":")).encode(),
                          content_type=ENTRA_CTYPE, chunked=False)

    # -- the client assertion, as Entra checks it -----------------------------------
    def _issuer_key(self, issuer: str, kid: str):
        with self._jwks_lock:
            keys = self._keys.get(issuer, {})
            if kid not in keys and self.jwks_fetch is not None:
                keys = J.jwks_keys(self.jwks_fetch(issuer))
                self._keys[issuer] = keys
            return keys.get(kid)

    def check_assertion(self, assertion: str, mi: ManagedIdentity, req) -> S.Response | None:
        """None if accepted, else Entra's refusal."""
        invalid = lambda why: self.aadsts(400, "invalid_request", 50027,
                                          f"Invalid JWT token. {why}", req)
        try:
            head, claims = J.jwt_parts(assertion)
            if not isinstance(claims, dict):
                raise ValueError
        except (ValueError, TypeError, UnicodeDecodeError):
            return invalid("Token format is not proper.")
        now = time.time()
        exp, nbf, iat = claims.get("exp"), claims.get("nbf", claims.get("iat")), claims.get("iat")
        if not isinstance(exp, int) or not isinstance(iat, int):
            return self.aadsts(400, "invalid_request", 70023,
                               "External OIDC Provider token must have a lifetime of less than or "
                               f"equal to 1.01:00:00. Token issued at {iat or 0}. Token expires on "
                               f"{exp or 0}.", req)
        if exp - iat > MAX_ASSERTION_LIFETIME:
            return self.aadsts(400, "invalid_request", 70023,
                               "External OIDC Provider token must have a lifetime of less than or "
                               f"equal to 1.01:00:00. Token issued at {iat}. Token expires on "
                               f"{exp}.", req)
        if exp < now - CLOCK_SKEW or (isinstance(nbf, int) and nbf > now + CLOCK_SKEW):
            return self.aadsts(401, "invalid_client", 700024,
                               msg_time_range(nbf if isinstance(nbf, int) else 0, exp), req)
        iss = claims.get("iss")
        records = [f for f in mi.federated if f.issuer == iss]
        if not records:
            return self.aadsts(401, "invalid_client", 700211, msg_no_record("issuer", iss), req)
        try:
            J.verify(assertion, lambda kid: self._issuer_key(iss, kid))
        except J.JWTError as e:
            if e.kind == "kid":
                return self.aadsts(401, "invalid_client", 700027,
                                   "Client assertion failed signature validation. [Reason - The "
                                   "key was not found.]", req)
            return invalid(f"External ID token from issuer '{iss}' failed signature verification.")
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        records = [f for f in records if any(a in f.audiences for a in auds)]
        if not records:
            return self.aadsts(401, "invalid_client", 700212,
                               msg_no_record("audience", ", ".join(map(str, auds))), req)
        if not any(f.subject == claims.get("sub") for f in records):
            return self.aadsts(401, "invalid_client", 700213,
                               msg_no_record("subject", claims.get("sub")), req)
        with self._lock:
            self.assertions.append(claims)
        return None

    # -- tokens ---------------------------------------------------------------------
    def mint(self, mi: ManagedIdentity, resource: str, lifetime: int = 3599) -> str:
        """An Entra v1 access token for managed identity mi and an app ID URI."""
        now = _now()
        sts = f"https://sts.windows.net/{self.tenant}/"
        claims = {"aud": resource, "iss": sts, "iat": now - 300, "nbf": now - 300,
                  "exp": now + lifetime + 1, "aio": _filler(60), "appid": mi.client_id,
                  "appidacr": "2", "idp": sts, "idtyp": "app", "oid": mi.principal_id,
                  "rh": "1.A" + _filler(60) + ".", "sub": mi.principal_id, "tid": self.tenant,
                  "uti": _filler(16), "ver": "1.0", "xms_ftd": _filler(48),
                  "xms_idrel": "7 14", "xms_mirid": mi.resource_id, "xms_rd": "0.42" + _filler(96),
                  "xms_tdbr": "EU"}
        tok = self.signer.sign(claims)
        with self._lock:
            self.issued.append(tok)
        return tok


# --------------------------------------------------------------------------
# Google STS whose provider trusts Entra ID
# --------------------------------------------------------------------------

class EntraSTS(S.STS):
    """STS for a provider with issuer https://sts.windows.net/<tenant>/, an
    allowed audience (the app ID URI) and an attribute condition on the
    subject (the managed identity's principal ID). Only tokens signed by
    the Entra stand-in pass; refusals use STS's wording."""

    def __init__(self, cert, audience: str, *, entra: Entra, app_id_uri=APP_ID_URI,
                 principal_id: str = PRINCIPAL_ID, **kw):
        self.entra = entra
        self.issuer = f"https://sts.windows.net/{entra.tenant}/"
        self.allowed_audiences = [app_id_uri] if isinstance(app_id_uri, str) else list(app_id_uri)
        self.accepted_subject = principal_id
        self.verified: list[dict] = []
        self.refusals: list[str] = []
        super().__init__(cert, audience, subject_token="(an Entra access token)", **kw)

    def _refuse(self, desc: str) -> S.Response:
        with self._lock:
            self.refusals.append(desc)
        return self.oauth_error(400, "invalid_grant", desc)

    def check_subject_token(self, token):
        keys = J.jwks_keys(self.entra.jwks())
        try:
            _, claims = J.verify(token or "", keys.get)
        except J.JWTError as e:
            if e.kind == "format":
                return self._refuse("The incoming JWT does not match the expected format.")
            if e.kind == "kid":
                return self._refuse("The key ID of the ID Token is not in the JWKS.")
            return self._refuse("Invalid JWT signature.")
        if claims.get("iss") != self.issuer:
            return self._refuse(f"The issuer in ID Token [{claims.get('iss')}] does not match "
                                f"the expected value [{self.issuer}].")
        if claims.get("aud") not in self.allowed_audiences:
            return self._refuse(f"The audience in ID Token [{claims.get('aud')}] does not match "
                                "the expected audience.")
        if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time() - 60:
            return self._refuse("The ID Token has expired.")
        if claims.get("sub") != self.accepted_subject:
            return self._refuse("The given credential is rejected by the attribute condition.")
        with self._lock:
            self.verified.append(claims)
        return None


# --------------------------------------------------------------------------
# Azure IMDS (plain HTTP, link-local: inside a test netns only)
# --------------------------------------------------------------------------

IMDS_PATH = "/metadata/identity/oauth2/token"
IMDS_VERSIONS = ["2023-07-01", "2021-12-13", "2021-11-15", "2021-10-01", "2021-05-01",
                 "2021-02-01", "2020-12-01", "2020-10-01", "2020-09-01", "2020-07-15",
                 "2020-06-01", "2019-11-01", "2019-08-15", "2019-08-01", "2019-06-04",
                 "2019-06-01", "2019-04-30", "2019-03-11", "2019-02-01", "2018-10-01",
                 "2018-04-02", "2018-02-01", "2017-12-01", "2017-10-01", "2017-08-01",
                 "2017-04-02", "2017-03-01"]


class IMDS(S.StandIn):
    """169.254.169.254: the managed-identity token endpoint of Azure IMDS."""
    name = "imds"
    tls = False

    def __init__(self, *, identity: ManagedIdentity, entra: Entra, lifetime: int = 86399,
                 bind: str = "169.254.169.254", port: int = 80):
        self.identity = identity
        self.entra = entra
        self.lifetime = lifetime
        self.issued: list[str] = []
        host = f"[{bind}]" if ":" in bind else bind
        super().__init__(None, host_name=host, bind=bind, port=port)

    def extra_headers(self) -> list:
        return [("Server", "IMDS/150.870.65.1544"), ("x-ms-request-id", str(uuid.uuid4()))]

    def _json(self, status: int, doc: dict) -> S.Response:
        return S.Response(status, json.dumps(doc, separators=(",", ":")).encode(),
                          content_type="application/json; charset=utf-8", chunked=False)

    def error_response(self, status, message, reason="invalid_request") -> S.Response:
        return self._json(status, {"error": "invalid_request", "error_description": message})

    def truncated_body(self) -> bytes:
        return b'{"access_token":"eyJ0eXAiOiJKV1Qi'

    def handle(self, req: S.Request) -> S.Response:
        if req.path != IMDS_PATH:
            raise S.Reject(f"{req.method} {req.target}", self._json(404, {
                "error": "Not found. The requested resource was not found."}))
        if req.method != "GET":
            raise S.Reject(f"{req.method} on IMDS", self._json(405, {
                "error": "Method not allowed. Please use GET."}))
        if req.header_all("X-Forwarded-For"):
            raise S.Reject("X-Forwarded-For sent (a proxy in the way)", self._json(400, {
                "error": "invalid_request",
                "error_description": "Request has an X-Forwarded-For header"}))
        md = req.header_all("Metadata")
        if len(md) != 1 or md[0].lower() != "true":
            raise S.Reject(f"Metadata header {md!r}", self._json(400, {
                "error": "invalid_request",
                "error_description": "Required metadata header not specified"}))
        q = req.query
        if not q.get("api-version"):
            raise S.Reject("api-version missing", self._json(400, {
                "error": "Bad request. api-version was not specified in the request. For more "
                         "information refer to aka.ms/azureimds",
                "newest-versions": IMDS_VERSIONS[:3]}))
        if q["api-version"][0] not in IMDS_VERSIONS:
            raise S.Reject(f"api-version {q['api-version']!r}", self._json(400, {
                "error": "Bad request. api-version is invalid or was not specified in the "
                         "request. For more information refer to aka.ms/azureimds",
                "newest-versions": IMDS_VERSIONS[:3]}))
        if not q.get("resource"):
            raise S.Reject("resource missing", self._json(400, {
                "error": "invalid_request",
                "error_description": "Required audience parameter not specified"}))
        resource = q["resource"][0]
        tok = self.entra.mint(self.identity, resource, self.lifetime)
        now = _now()
        with self._lock:
            self.issued.append(tok)
        return self._json(200, {
            "access_token": tok, "client_id": self.identity.client_id,
            "expires_in": str(self.lifetime), "expires_on": str(now + self.lifetime),
            "ext_expires_in": str(self.lifetime), "not_before": str(now - 300),
            "resource": resource, "token_type": "Bearer"})
