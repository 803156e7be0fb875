"""Google STS stand-in that verifies the subject token as Workload Identity
Federation does for an OIDC provider (here: the test cluster's issuer).

It extends tests/integration/standins.STS (all its request checks stay) by
replacing only the subject-token check: the token must be a JWT signed by a
key in the API server's JWKS (GET /openid/v1/jwks, fetched from the API
server, refetched when a key id is unknown: like uploading the JWKS to the
provider), with the configured issuer, an audience among the provider's
allowed audiences, not expired (nor issued in the future), and a `sub` the
provider's attribute condition accepts. Refusals use STS's own wording.
"""
from __future__ import annotations

import threading
import time

import jwt_util            # tests/integration: JWT/JWK helpers shared with entra.py
import standins as S
from jwt_util import b64url, jwk_public_key, jwt_claims_unverified  # noqa: F401 (re-exported)

CLOCK_SKEW = 60


class WIFSTS(S.STS):
    """STS whose provider trusts the test cluster's service-account issuer."""

    def __init__(self, cert, audience: str, *, issuer: str, allowed_audiences: list,
                 subject: str, jwks_fetch):
        self.issuer = issuer
        self.allowed_audiences = list(allowed_audiences)
        self.accepted_subject = subject
        self._jwks_fetch = jwks_fetch          # () -> JWKS dict
        self._keys: dict = {}
        self._jwks_lock = threading.Lock()
        self.verified: list[dict] = []         # claims of accepted tokens
        self.refusals: list[str] = []          # error_description of refused ones
        super().__init__(cert, audience, subject_token="(verified as a JWT)")

    def _key(self, kid: str):
        with self._jwks_lock:
            if kid not in self._keys:
                self._keys = {k["kid"]: jwk_public_key(k) for k in self._jwks_fetch()["keys"]}
            return self._keys.get(kid)

    def _refuse(self, desc: str) -> S.Response:
        with self._lock:
            self.refusals.append(desc)
        return self.oauth_error(400, "invalid_grant", desc)

    def check_subject_token(self, token):
        try:
            return self._verify(token)
        except Exception as e:      # noqa: BLE001 - a harness fault, not regcred's
            self._violation(f"stand-in error verifying the subject token: {e!r}")
            return self.oauth_error(500, "server_error", "stand-in error")

    def _verify(self, token):
        try:
            head, claims = jwt_util.verify(token or "", self._key)
        except jwt_util.JWTError as e:
            if e.kind == "format":
                return self._refuse("The incoming JWT does not match the expected format.")
            head = jwt_util.jwt_parts(token)[0]
            if e.kind == "kid":
                return self._refuse(f"The key ID [{head.get('kid')}] of the ID Token is not in the JWKS.")
            if e.kind == "alg":
                return self._refuse(f"Unsupported JWT algorithm [{head.get('alg')}].")
            return self._refuse("Invalid JWT signature.")
        if claims.get("iss") != self.issuer:
            return self._refuse(f"The issuer in ID Token [{claims.get('iss')}] does not match "
                                f"the expected value [{self.issuer}].")
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if not any(a in self.allowed_audiences for a in auds):
            return self._refuse(f"The audience in ID Token [{', '.join(map(str, auds))}] does not "
                                "match the expected audience.")
        now = time.time()
        if not isinstance(claims.get("exp"), int) or claims["exp"] < now - CLOCK_SKEW:
            return self._refuse("The ID Token has expired.")
        if isinstance(claims.get("iat"), int) and claims["iat"] > now + CLOCK_SKEW:
            return self._refuse("The ID Token was issued in the future.")
        if claims.get("sub") != self.accepted_subject:
            return self._refuse("The given credential is rejected by the attribute condition.")
        with self._lock:
            self.verified.append(claims)
        return None
