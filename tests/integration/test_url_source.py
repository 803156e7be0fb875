"""URL credential sources (credential_source.url, headers, format) and the
sources regcred refuses, each with its own message.

https URL sources run against a local TLS stand-in (standins.SubjectURL);
the link-local IMDS path runs inside a private network namespace where
169.254.169.254 is a stand-in's own address (azure_world.py); configs that
name a metadata address but must be refused run in an empty namespace
(`offline`), so no test ever sends traffic to 169.254.169.254 on the
host's own network.
"""
from __future__ import annotations

import json
import urllib.parse

import pytest

import entra as E
import gcloud_fixtures as G
import standins as S
from harness import NAMESPACE, REGISTRY, SECRET, decode_dockercfg, expect_failure


@pytest.fixture
def source(world):
    """A URL source serving the World's subject token (text)."""
    src = S.SubjectURL(world.pki.rsa, world.subject_token)
    world.others.append(src)
    return src


def url_config(world, src, fmt=None, headers=None):
    cs = {"url": src.url if hasattr(src, "url") else src}
    if headers is not None:
        cs["headers"] = headers
    if fmt is not None:
        cs["format"] = fmt
    return world.write_config(credential_source=cs)


def assert_refreshed(world, res):
    assert res.rc == 0, res
    assert len(world.sts.requests) == 1
    form = dict(urllib.parse.parse_qsl(world.sts.requests[0].body.decode()))
    assert form["subject_token"] == world.subject_token
    cfg = json.loads(decode_dockercfg(world.kube.get(NAMESPACE, SECRET)))
    assert cfg["auths"][REGISTRY]["password"] == world.iam.issued[0]


# -- https sources ------------------------------------------------------------

@pytest.mark.parametrize("fmt", [None, {"type": "text"}], ids=["default", "text"])
def test_url_source_https_text(regcred, world, source, fmt):
    url_config(world, source, fmt=fmt)
    res = world.run(regcred, world.args())
    assert_refreshed(world, res)
    r = source.requests[0]
    assert (r.method, r.target, r.header("Host")) == ("GET", source.target, source.hostport)
    assert r.tls_version == "TLSv1.2"
    assert r.body == b""


def test_url_source_https_json_field(regcred, world, source):
    source.fmt, source.field = "json", "id_token"
    url_config(world, source, fmt={"type": "json", "subject_token_field_name": "id_token"})
    res = world.run(regcred, world.args())
    assert_refreshed(world, res)


def test_url_source_json_field_missing(regcred, world, seeded, source):
    source.fmt, source.field = "json", "something_else"
    url_config(world, source, fmt={"type": "json", "subject_token_field_name": "id_token"})
    res = world.run(regcred, world.args())
    expect_failure(res, 3, "subject-token", "id_token")
    assert world.sts.connections == 0


def test_url_source_custom_headers_sent(regcred, world, source):
    hdrs = {"Metadata-Flavor": "Google", "X-Identity-Header": "a b;c=d"}
    source.required_headers = dict(hdrs)
    url_config(world, source, headers=hdrs)
    res = world.run(regcred, world.args())
    assert_refreshed(world, res)
    r = source.requests[0]
    for k, v in hdrs.items():
        assert r.header_all(k) == [v]


def test_url_source_trusts_only_the_given_roots(regcred, world, seeded, pki):
    src = S.SubjectURL(pki.untrusted, world.subject_token)
    world.others.append(src)
    url_config(world, src)
    res = world.run(regcred, world.args())
    expect_failure(res, 3, "subject-token", src.hostport)
    assert len(src.requests) == 0


@pytest.mark.parametrize("status,body", [
    (403, '{"error":"forbidden","message":"caller has no identity bound"}'),
    (404, "no such token here"),
], ids=["403-json", "404-text"])
def test_url_source_non_200(regcred, world, seeded, source, status, body):
    source.inject(S.status_fault(status, body, content_type="text/plain"), times=None)
    url_config(world, source)
    res = world.run(regcred, world.args())
    expect_failure(res, 3, "subject-token", f"GET {source.url}", f"HTTP {status}",
                   body[:30])
    assert world.sts.connections == 0
    assert world.kube.connections == 0


# -- refused before any traffic ----------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/token",
    "http://localhost:9/token",
    "http://169.254.169.253/metadata/identity/oauth2/token",
    "http://169.254.169.254.nip.io/metadata",
    "http://[fd00:ec2::253]/latest/meta-data",
    "ftp://169.254.169.254/token",
], ids=["loopback", "localhost", "other-link-local", "lookalike-name", "other-ula", "ftp"])
def test_url_source_plain_http_refused_off_link_local(regcred, offline, url):
    world = offline
    world.kube.seed(NAMESPACE, SECRET)
    snap = world.kube.snapshot(NAMESPACE, SECRET)
    world.write_config(credential_source={"url": url})
    res = world.run(regcred, world.args())
    expect_failure(res, 2, "config")
    assert world.kube.snapshot(NAMESPACE, SECRET) == snap


def test_aws_source_refused_as_aws(regcred, offline):
    """gcloud --aws writes url and regional_cred_verification_url beside
    environment_id: the message must name AWS, not a URL problem."""
    world = offline
    world.write_config(G.path("gcloud-aws.json").read_bytes())
    res = world.run(regcred, world.args())
    expect_failure(res, 2, "config", "AWS")


def test_executable_source_refused_as_executable(regcred, world, seeded):
    world.write_config(credential_source={"executable": {
        "command": "/usr/bin/get-token --audience x", "timeout_millis": 5000,
        "output_file": "/tmp/token.json"}})
    res = world.run(regcred, world.args())
    expect_failure(res, 2, "config", "executable")
    assert "AWS" not in res.stderr


def test_certificate_source_refused_as_certificate(regcred, world, seeded):
    # what `gcloud ... create-cred-config --credential-cert-path=...` writes
    world.write_config(token_url="https://sts.mtls.googleapis.com/v1/token", credential_source={
        "certificate": {"certificate_config_location":
                        "/etc/gcp/certificate_config.json"}})
    res = world.run(regcred, world.args())
    expect_failure(res, 2, "config", "certificate")
    assert "AWS" not in res.stderr and "executable" not in res.stderr


# -- the plain IMDS path (no Azure settings), inside the network namespace ---------------

IMDS_TARGET = ("/metadata/identity/oauth2/token?api-version=2018-02-01"
               "&resource=api://regcred-google-wif")


def test_imds_url_source_without_entra_settings(regcred, az):
    """No --azure-* settings: the gcloud --azure config's IMDS URL is fetched
    as an ordinary URL source (a VM or node identity), its access_token given
    to STS."""
    w = az.world
    res = w.run(regcred, w.args())
    assert res.rc == 0, res
    assert az.entra.connections == 0
    assert len(az.imds.requests) == 1
    r = az.imds.requests[0]
    assert (r.method, r.target) == ("GET", IMDS_TARGET)
    assert r.header_all("Host") == ["169.254.169.254"]
    assert r.header_all("Metadata") == ["True"]
    assert r.body == b""
    form = dict(urllib.parse.parse_qsl(w.sts.requests[0].body.decode()))
    assert form["subject_token"] == az.imds.issued[0]
    assert len(w.sts.verified) == 1 and len(w.iam.requests) == 1
    assert w.kube.methods() == ["PATCH"]


def test_imds_url_source_default_resource(regcred, az):
    az.use_fixture("gcloud-azure-default.json")
    res = az.world.run(regcred, az.world.args())
    assert res.rc == 0, res
    assert az.imds.requests[0].query["resource"] == [G.DEFAULT_RESOURCE]
    assert az.world.sts.verified[0]["aud"] == G.DEFAULT_RESOURCE


@pytest.mark.parametrize("status,doc", [
    (400, {"error": "invalid_request", "error_description": "Identity not found"}),
    (404, {"error": "not_found", "error_description": "Token not found for the resource"}),
], ids=["400-identity-not-found", "404"])
def test_imds_failure_exit_3(regcred, az_seeded, az, status, doc):
    az.imds.inject(S.status_fault(status, json.dumps(doc, separators=(",", ":")),
                                  content_type="application/json; charset=utf-8",
                                  chunked=False), times=None)
    res = az.world.run(regcred, az.world.args())
    expect_failure(res, 3, "subject-token", f"GET http://169.254.169.254{IMDS_TARGET}",
                   f"HTTP {status}", doc["error_description"])
    assert az.world.sts.connections == 0
