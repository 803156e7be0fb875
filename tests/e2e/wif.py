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

import base64
import json
import threading
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

import standins as S

CLOCK_SKEW = 60


def b64url(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _int(s: str) -> int:
    return int.from_bytes(b64url(s), "big")


def jwk_public_key(k: dict):
    if k.get("kty") == "RSA":
        return rsa.RSAPublicNumbers(_int(k["e"]), _int(k["n"])).public_key()
    if k.get("kty") == "EC" and k.get("crv") == "P-256":
        return ec.EllipticCurvePublicNumbers(_int(k["x"]), _int(k["y"]), ec.SECP256R1()).public_key()
    raise ValueError(f"unsupported JWK {k.get('kty')}/{k.get('crv')}")


def jwt_claims_unverified(token: str) -> dict:
    return json.loads(b64url(token.split(".")[1]))


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
            head_b64, body_b64, sig_b64 = (token or "").split(".")
            head, claims = json.loads(b64url(head_b64)), json.loads(b64url(body_b64))
            sig = b64url(sig_b64)
        except (ValueError, TypeError):
            return self._refuse("The incoming JWT does not match the expected format.")
        key = self._key(head.get("kid", ""))
        if key is None:
            return self._refuse(f"The key ID [{head.get('kid')}] of the ID Token is not in the JWKS.")
        signed = f"{head_b64}.{body_b64}".encode()
        try:
            if head.get("alg") == "RS256" and isinstance(key, rsa.RSAPublicKey):
                key.verify(sig, signed, padding.PKCS1v15(), hashes.SHA256())
            elif head.get("alg") == "ES256" and isinstance(key, ec.EllipticCurvePublicKey):
                if len(sig) != 64:
                    raise InvalidSignature()
                key.verify(encode_dss_signature(int.from_bytes(sig[:32], "big"),
                                                int.from_bytes(sig[32:], "big")),
                           signed, ec.ECDSA(hashes.SHA256()))
            else:
                return self._refuse(f"Unsupported JWT algorithm [{head.get('alg')}].")
        except InvalidSignature:
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
