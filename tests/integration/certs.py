"""Test PKI for the regcred integration suite, generated with `cryptography`.

Everything is made fresh per session in a temporary directory; nothing here
is a real credential. Server certificate files are "chain" PEMs (leaf, then
intermediates) as ssl.SSLContext.load_cert_chain wants them.

Google-like side (STS, IAM are reached as https://localhost:PORT):
  rsa      RSA-4096 root -> RSA-2048 intermediate -> RSA-2048 leaf, DNS:localhost
  ecdsa    P-384 root -> P-256 intermediate -> P-256 leaf, DNS:localhost
  wrongname   leaf under the RSA intermediate for DNS:wrong.example only
  expired     leaf under the RSA intermediate, notAfter in the past
  untrusted   RSA-2048 root (not given to regcred) -> leaf DNS:localhost
  cloud       leaf under the RSA intermediate for the real service names
              (CLOUD_DNS: sts.googleapis.com, iamcredentials.googleapis.com,
              login.microsoftonline.com, ...), for stand-ins reached by those
              names inside a test network namespace (netns.py)
Kubernetes side (reached as https://127.0.0.1:PORT, name kubernetes.default.svc):
  kube        own CA (P-256) -> serving cert with kube-apiserver's default SANs
  kube_wrongname  same CA, SANs without any kubernetes.* name
  kube_client     same CA and SANs, ExtendedKeyUsage clientAuth only (a
                  kubelet or admin client certificate)
  kube_cn_only    same CA, CN kubernetes.default.svc and no subjectAltName
  kube_no_eku, kube_any_eku   no EKU / anyExtendedKeyUsage (both acceptable)
"""
from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KUBE_DNS = ["kubernetes", "kubernetes.default", "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local"]
KUBE_IPS = ["10.0.0.1", "127.0.0.1", "::1"]
CLOUD_DNS = ["sts.googleapis.com", "iamcredentials.googleapis.com",
             "login.microsoftonline.com", "login.microsoftonline.us", "localhost"]

_NOW = datetime.datetime.now(datetime.timezone.utc)


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM,
                             serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _name(cn: str, org: str = "regcred test PKI") -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _hash_for(key):
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp384r1":
        return hashes.SHA384()
    return hashes.SHA256()


@dataclass
class Issued:
    cert: x509.Certificate
    key: object

    @property
    def pem(self) -> bytes:
        return _pem(self.cert)


def _ca(subject: str, key, issuer: Issued | None, pathlen: int | None) -> Issued:
    signer_key = issuer.key if issuer else key
    b = (x509.CertificateBuilder()
         .subject_name(_name(subject))
         .issuer_name(issuer.cert.subject if issuer else _name(subject))
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(_NOW - datetime.timedelta(days=1))
         .not_valid_after(_NOW + datetime.timedelta(days=3650))
         .add_extension(x509.BasicConstraints(ca=True, path_length=pathlen), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                      key_encipherment=False, data_encipherment=False,
                                      key_agreement=False, key_cert_sign=True, crl_sign=True,
                                      encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer:
        b = b.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.key.public_key()), critical=False)
    return Issued(b.sign(signer_key, _hash_for(signer_key)), key)


def _leaf(cn: str, key, issuer: Issued, dns: list[str], ips: list[str] = (),
          not_before=None, not_after=None, eku=(ExtendedKeyUsageOID.SERVER_AUTH,),
          san: bool = True) -> Issued:
    sans = [x509.DNSName(d) for d in dns] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    b = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(issuer.cert.subject)
         .public_key(key.public_key())
         .serial_number(x509.random_serial_number())
         .not_valid_before(not_before or _NOW - datetime.timedelta(hours=1))
         .not_valid_after(not_after or _NOW + datetime.timedelta(days=90))
         .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                      key_encipherment=is_rsa, data_encipherment=False,
                                      key_agreement=False, key_cert_sign=False, crl_sign=False,
                                      encipher_only=False, decipher_only=False), critical=True)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
             issuer.key.public_key()), critical=False))
    if eku is not None:
        b = b.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if san:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return Issued(b.sign(issuer.key, _hash_for(issuer.key)), key)


@dataclass
class ServerCert:
    """A server identity: chain file (leaf + intermediates) and key file."""
    name: str
    chain_file: str
    key_file: str
    root_file: str          # the root that anchors it (PEM)
    leaf: x509.Certificate = field(repr=False, default=None)


@dataclass
class PKI:
    dir: str
    rsa: ServerCert
    ecdsa: ServerCert
    wrongname: ServerCert
    expired: ServerCert
    untrusted: ServerCert
    kube: ServerCert
    kube_wrongname: ServerCert
    kube_client: ServerCert      # same CA, EKU clientAuth only, kube SANs
    kube_cn_only: ServerCert     # same CA, CN kubernetes.default.svc, no SAN
    kube_no_eku: ServerCert      # same CA, kube SANs, no EKU at all
    kube_any_eku: ServerCert     # same CA, EKU anyExtendedKeyUsage
    rsa_root_file: str
    ecdsa_root_file: str
    untrusted_root_file: str
    kube_ca_file: str
    both_roots_file: str     # rsa + ecdsa roots in one bundle
    cloud: ServerCert = None  # CLOUD_DNS names, under the rsa root

    def google(self, variant: str) -> ServerCert:
        return getattr(self, variant)


def _rsa(bits: int):
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _write(path: str, data: bytes, mode: int = 0o644) -> str:
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    return path


def make_pki(directory: str) -> PKI:
    os.makedirs(directory, exist_ok=True)
    d = directory

    def server(name: str, leaf: Issued, chain: list[Issued], root_file: str) -> ServerCert:
        chain_file = _write(os.path.join(d, f"{name}.chain.pem"),
                            leaf.pem + b"".join(c.pem for c in chain))
        key_file = _write(os.path.join(d, f"{name}.key"), _key_pem(leaf.key), 0o600)
        return ServerCert(name, chain_file, key_file, root_file, leaf.cert)

    # Google-like RSA: RSA-4096 root (like GTS Root R1) -> RSA-2048 intermediate.
    rsa_root = _ca("Test GTS Root R1", _rsa(4096), None, None)
    rsa_int = _ca("Test WR2", _rsa(2048), rsa_root, 0)
    rsa_root_file = _write(os.path.join(d, "rsa-root.pem"), rsa_root.pem)
    rsa_leaf = _leaf("localhost", _rsa(2048), rsa_int, ["localhost"])
    wrong_leaf = _leaf("wrong.example", _rsa(2048), rsa_int, ["wrong.example"])
    cloud_leaf = _leaf("sts.googleapis.com", _rsa(2048), rsa_int, CLOUD_DNS)
    expired_leaf = _leaf("localhost", _rsa(2048), rsa_int, ["localhost"],
                         not_before=_NOW - datetime.timedelta(days=120),
                         not_after=_NOW - datetime.timedelta(days=30))

    # ECDSA: P-384 root (like GTS Root R4) -> P-256 intermediate -> P-256 leaf.
    ec_root = _ca("Test GTS Root R4", ec.generate_private_key(ec.SECP384R1()), None, None)
    ec_int = _ca("Test WE1", ec.generate_private_key(ec.SECP256R1()), ec_root, 0)
    ec_root_file = _write(os.path.join(d, "ecdsa-root.pem"), ec_root.pem)
    ec_leaf = _leaf("localhost", ec.generate_private_key(ec.SECP256R1()), ec_int, ["localhost"])

    # A chain to a root regcred is never told about.
    un_root = _ca("Untrusted Root", _rsa(2048), None, None)
    un_int = _ca("Untrusted Intermediate", _rsa(2048), un_root, 0)
    un_root_file = _write(os.path.join(d, "untrusted-root.pem"), un_root.pem)
    un_leaf = _leaf("localhost", _rsa(2048), un_int, ["localhost"])

    # Kubernetes: its own CA, serving cert with kube-apiserver's default SANs.
    kube_ca = _ca("kubernetes", ec.generate_private_key(ec.SECP256R1()), None, None)
    kube_ca_file = _write(os.path.join(d, "kube-ca.crt"), kube_ca.pem)
    kube_leaf = _leaf("kube-apiserver", ec.generate_private_key(ec.SECP256R1()), kube_ca,
                      KUBE_DNS, KUBE_IPS)
    kube_wrong = _leaf("kube-apiserver", ec.generate_private_key(ec.SECP256R1()), kube_ca,
                       ["apiserver.wrong.example"], KUBE_IPS)

    def kube_variant(cn="kube-apiserver", **kw):
        return _leaf(cn, ec.generate_private_key(ec.SECP256R1()), kube_ca, KUBE_DNS,
                     KUBE_IPS, **kw)
    kube_client = kube_variant(eku=(ExtendedKeyUsageOID.CLIENT_AUTH,))
    kube_cn_only = kube_variant(cn="kubernetes.default.svc", san=False)
    kube_no_eku = kube_variant(eku=None)
    kube_any_eku = kube_variant(eku=(ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE,))

    both = _write(os.path.join(d, "google-roots.pem"), rsa_root.pem + ec_root.pem)
    return PKI(
        dir=d,
        rsa=server("rsa", rsa_leaf, [rsa_int], rsa_root_file),
        ecdsa=server("ecdsa", ec_leaf, [ec_int], ec_root_file),
        wrongname=server("wrongname", wrong_leaf, [rsa_int], rsa_root_file),
        expired=server("expired", expired_leaf, [rsa_int], rsa_root_file),
        untrusted=server("untrusted", un_leaf, [un_int], un_root_file),
        kube=server("kube", kube_leaf, [], kube_ca_file),
        kube_wrongname=server("kube-wrongname", kube_wrong, [], kube_ca_file),
        kube_client=server("kube-client", kube_client, [], kube_ca_file),
        kube_cn_only=server("kube-cn-only", kube_cn_only, [], kube_ca_file),
        kube_no_eku=server("kube-no-eku", kube_no_eku, [], kube_ca_file),
        kube_any_eku=server("kube-any-eku", kube_any_eku, [], kube_ca_file),
        rsa_root_file=rsa_root_file,
        ecdsa_root_file=ec_root_file,
        untrusted_root_file=un_root_file,
        kube_ca_file=kube_ca_file,
        both_roots_file=both,
        cloud=server("cloud", cloud_leaf, [rsa_int], rsa_root_file),
    )


if __name__ == "__main__":
    import sys
    import time
    t = time.time()
    p = make_pki(sys.argv[1] if len(sys.argv) > 1 else "/tmp/standins/pki")
    print(p.dir, f"{time.time() - t:.2f}s")
