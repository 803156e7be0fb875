"""JWT and JWK helpers shared by the stand-ins that sign or verify tokens
(entra.py here, tests/e2e/wif.py): base64url, JWK -> public key, RS256
signing with a published JWKS, and signature verification.

Nothing here checks claims (iss, aud, sub, times): each verifier does that
in its own service's words. verify() only answers "is this a compact JWS
whose signature a key of this JWKS made", raising JWTError with a `kind`
("format", "kid", "alg", "signature") the caller maps to its own error.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(s: str) -> bytes:
    """Decode unpadded base64url (as JWS and JWK use it)."""
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url_encode(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _int(s: str) -> int:
    return int.from_bytes(b64url(s), "big")


def _int_b64(n: int) -> str:
    return b64url_encode(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def jwk_public_key(k: dict):
    if k.get("kty") == "RSA":
        return rsa.RSAPublicNumbers(_int(k["e"]), _int(k["n"])).public_key()
    if k.get("kty") == "EC" and k.get("crv") == "P-256":
        return ec.EllipticCurvePublicNumbers(_int(k["x"]), _int(k["y"]), ec.SECP256R1()).public_key()
    raise ValueError(f"unsupported JWK {k.get('kty')}/{k.get('crv')}")


def jwks_keys(jwks: dict) -> dict:
    """{kid: public key} of a JWKS document (keys of unknown types skipped)."""
    out = {}
    for k in jwks.get("keys", []):
        try:
            out[k.get("kid", "")] = jwk_public_key(k)
        except (ValueError, KeyError):
            pass
    return out


def jwt_parts(token: str):
    """(header, claims) without any verification."""
    head_b64, body_b64, _ = token.split(".")
    return json.loads(b64url(head_b64)), json.loads(b64url(body_b64))


def jwt_claims_unverified(token: str) -> dict:
    return json.loads(b64url(token.split(".")[1]))


class JWTError(Exception):
    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


def verify(token: str, key_for_kid) -> tuple:
    """Check a compact JWS's signature; key_for_kid(kid) -> public key or None.

    Returns (header, claims). Raises JWTError(kind) on a malformed token
    ("format"), an unknown key id ("kid"), an algorithm the key cannot make
    ("alg") or a bad signature ("signature").
    """
    try:
        head_b64, body_b64, sig_b64 = (token or "").split(".")
        head, claims = json.loads(b64url(head_b64)), json.loads(b64url(body_b64))
        sig = b64url(sig_b64)
        if not isinstance(head, dict) or not isinstance(claims, dict):
            raise ValueError("not objects")
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        raise JWTError("format", f"not a compact JWS: {e}")
    key = key_for_kid(head.get("kid", ""))
    if key is None:
        raise JWTError("kid", f"key id {head.get('kid')!r} is not in the JWKS")
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
            raise JWTError("alg", f"algorithm {head.get('alg')!r} with a {type(key).__name__}")
    except InvalidSignature:
        raise JWTError("signature", "signature does not verify")
    return head, claims


class RS256Signer:
    """An RSA-2048 signing key with a key id; sign() makes compact JWS,
    jwks() publishes the public half as a JWKS document."""

    def __init__(self, kid: str | None = None, x5t: bool = False):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub = self.key.public_key().public_numbers()
        self._jwk = {"kty": "RSA", "use": "sig", "alg": "RS256", "n": _int_b64(pub.n),
                     "e": _int_b64(pub.e)}
        # kid: as Entra, a thumbprint-shaped string; as Kubernetes, any string
        self.kid = kid or b64url_encode(hashlib.sha1(secrets.token_bytes(20)).digest())
        self._jwk["kid"] = self.kid
        self.x5t = self.kid if x5t else None

    def jwks(self) -> dict:
        return {"keys": [dict(self._jwk)]}

    def sign(self, claims: dict, header: dict | None = None) -> str:
        """header: fields to add or change (a None value removes one)."""
        head = {"typ": "JWT", "alg": "RS256"}
        if self.x5t:
            head["x5t"] = self.x5t
        head["kid"] = self.kid
        head.update(header or {})
        head = {k: v for k, v in head.items() if v is not None}     # None: leave it out
        data = (b64url_encode(json.dumps(head, separators=(",", ":")).encode()) + "." +
                b64url_encode(json.dumps(claims, separators=(",", ":")).encode()))
        sig = self.key.sign(data.encode(), padding.PKCS1v15(), hashes.SHA256())
        return data + "." + b64url_encode(sig)
