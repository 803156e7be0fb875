"""Certificates: what regcred must accept and refuse, on both sides."""
from __future__ import annotations

import pytest

import standins as S
from harness import NAMESPACE, SECRET, expect_failure


@pytest.mark.parametrize("variant", ["rsa", "ecdsa"],
                         ids=["rsa4096-root", "p384-root"])
def test_google_roots_rsa4096_and_p384(regcred, world, variant):
    cert = world.pki.google(variant)
    world.sts.set_cert(cert)
    world.iam.set_cert(cert)
    res = world.run(regcred, world.args(ca_file=cert.root_file))
    assert res.rc == 0, res
    assert world.sts.requests[0].tls_version == "TLSv1.2"
    assert world.kube.methods() == ["PATCH"]


def test_ca_file_bundle_with_several_roots(regcred, world):
    world.sts.set_cert(world.pki.ecdsa)
    res = world.run(regcred, world.args(ca_file=world.pki.both_roots_file))
    assert res.rc == 0, res


@pytest.mark.parametrize("variant", ["wrongname", "expired", "untrusted"])
@pytest.mark.parametrize("embedded", [False, True], ids=["pinned", "with-embedded"])
def test_google_bad_certificate(regcred, world, variant, embedded):
    world.kube.seed(NAMESPACE, SECRET)
    snap = world.kube.snapshot(NAMESPACE, SECRET)
    world.sts.set_cert(world.pki.google(variant))
    res = world.run(regcred, world.args(ca_file=world.pki.rsa_root_file,
                                        no_embedded=not embedded, timeout=5))
    expect_failure(res, 3, "sts", world.sts.hostport)
    assert world.sts.requests == [], "a request went over an unverified connection"
    assert world.sts.connections == 1, "certificate failures must not be retried"
    assert world.kube.connections == 0
    assert world.kube.snapshot(NAMESPACE, SECRET) == snap


def test_iam_bad_certificate(regcred, world):
    world.iam.set_cert(world.pki.untrusted)
    res = world.run(regcred, world.args(timeout=5))
    expect_failure(res, 3, "iam", world.iam.hostport)
    assert world.iam.requests == []
    assert world.kube.connections == 0


def test_embedded_roots_do_not_trust_the_test_pki(regcred, world):
    res = world.run(regcred, world.args(ca_file=None, timeout=5))
    expect_failure(res, 3, "sts", world.sts.hostport)
    assert world.sts.requests == []


def test_kube_ca_is_not_trusted_for_google(regcred, world):
    res = world.run(regcred, world.args(ca_file=world.pki.kube_ca_file, timeout=5))
    expect_failure(res, 3, "sts")
    assert world.sts.requests == []


def test_google_root_is_not_trusted_for_kube(regcred, world):
    (world.sa_dir / "ca.crt").write_bytes(open(world.pki.rsa_root_file, "rb").read())
    world.kube.set_cert(world.pki.rsa)
    res = world.run(regcred, world.args(timeout=5))
    expect_failure(res, 4, "kube", world.kube.hostport)
    assert world.kube.requests == []


def test_kube_certificate_wrong_name(regcred, world):
    world.kube.set_cert(world.pki.kube_wrongname)
    res = world.run(regcred, world.args(timeout=5))
    expect_failure(res, 4, "kube", world.kube.hostport)
    assert world.kube.requests == []
    assert world.kube.get(NAMESPACE, SECRET) is None


def test_kube_server_name_mismatch(regcred, world):
    res = world.run(regcred, world.args(timeout=5, extra=["--kube-server-name",
                                                          "api.wrong.example"]))
    expect_failure(res, 4, "kube", world.kube.hostport)
    assert world.kube.requests == []


@pytest.mark.parametrize("name", ["kubernetes", "kubernetes.default.svc.cluster.local"])
def test_kube_server_name_other_default_san(regcred, world, name):
    res = world.run(regcred, world.args(extra=["--kube-server-name", name]))
    assert res.rc == 0, res
    assert world.kube.requests[0].sni == name


def test_kube_sni_is_kubernetes_default_svc(regcred, world):
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert world.kube.requests[0].sni == "kubernetes.default.svc"
    assert world.sts.requests[0].sni == "localhost"


def test_kube_api_over_ipv6_from_the_pod_environment(regcred, world):
    """KUBERNETES_SERVICE_HOST=::1 as a dual-stack pod sees it: the URL gets
    brackets, the name verified is kubernetes.default.svc."""
    world.kube.stop()
    world.kube = S.Kube(world.pki.kube, world.sa_token, bind="::1")
    env = {"KUBERNETES_SERVICE_HOST": "::1",
           "KUBERNETES_SERVICE_PORT": str(world.kube.port)}
    res = world.run(regcred, world.args(kube_api=None), env=env)
    assert res.rc == 0, res
    req = world.kube.requests[0]
    assert req.sni == "kubernetes.default.svc"
    assert [v for k, v in req.headers if k.lower() == "host"] == [f"[::1]:{world.kube.port}"]
    assert world.kube.get(NAMESPACE, SECRET) is not None


@pytest.mark.parametrize("variant,why", [
    ("kube_client", "ExtendedKeyUsage lacks serverAuth"),
    ("kube_cn_only", "no subjectAltName of the certificate matches"),
])
def test_kube_certificate_not_for_servers_is_refused(regcred, world, variant, why):
    """A cluster-CA certificate issued for client authentication (kubelet,
    admin, a kube-apiserver-client CSR), or one naming the server only in
    its CN, must not receive the service-account token (OpenSSL and Go
    refuse both; BearSSL's minimal engine alone accepted them)."""
    world.kube.set_cert(getattr(world.pki, variant))
    res = world.run(regcred, world.args(timeout=5))
    expect_failure(res, 4, "kube", world.kube.hostport, why)
    assert world.kube.requests == [], "the token went to a non-server certificate"
    assert world.kube.connections == 1, "a certificate verdict must not be retried"


@pytest.mark.parametrize("variant", ["kube_no_eku", "kube_any_eku"])
def test_kube_certificate_without_eku_or_any_eku_is_accepted(regcred, world, variant):
    world.kube.set_cert(getattr(world.pki, variant))
    res = world.run(regcred, world.args())
    assert res.rc == 0, res


def test_no_ip_literal_in_sni(regcred, world):
    """RFC 6066: an IP literal is never sent as SNI (and never matches a
    DNS name: the verification still fails)."""
    res = world.run(regcred, world.args(timeout=5, extra=["--kube-server-name",
                                                          "127.0.0.1"]))
    expect_failure(res, 4, "kube", "127.0.0.1")
    assert world.kube.snis == [None], world.kube.snis


def test_transient_alert_is_retried(regcred, world):
    world.sts.inject(S.alert(80))           # internal_error
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert world.sts.connections == 2
    assert any("alert 80" in l and "retrying" in l for l in res.lines()), res


@pytest.mark.parametrize("code", [40, 42, 48, 70])
def test_verdict_alert_is_not_retried(regcred, world, code):
    world.sts.inject(S.alert(code), times=None)
    res = world.run(regcred, world.args(timeout=10))
    expect_failure(res, 3, "sts", f"alert {code}")
    assert world.sts.connections == 1


def test_ca_file_whole_system_bundle(regcred, world, tmp_path):
    """--ca-file with Debian's whole bundle (144 roots, 220 KB) plus the
    stand-ins' root: "a mounted bundle", as the README offers."""
    system = open("/etc/ssl/certs/ca-certificates.crt", "rb").read()
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(system + open(world.pki.rsa_root_file, "rb").read())
    res = world.run(regcred, world.args(ca_file=str(bundle)))
    assert res.rc == 0, res
