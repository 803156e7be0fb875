"""Usage and configuration errors: exit 2, before any network request."""
from __future__ import annotations

import json

import pytest

from harness import NAMESPACE, SECRET, expect_failure


@pytest.fixture
def seeded(world):
    world.kube.seed(NAMESPACE, SECRET)
    snap = world.kube.snapshot(NAMESPACE, SECRET)
    yield
    assert world.kube.snapshot(NAMESPACE, SECRET) == snap
    assert world.network_requests() == 0, "network used despite a config error"


def bad_config(world, doc):
    world.write_config(doc)
    return world.args()


CONFIGS = {
    "not-json": lambda w: "{\"type\": \"external_account\", ",
    "trailing-comma": lambda w: json.dumps(w.config())[:-1] + ",}",
    "two-documents": lambda w: json.dumps(w.config()) + "{}",
    "wrong-type": lambda w: w.config(type="service_account"),
    "no-audience": lambda w: w.config(audience=None),
    "no-token-url": lambda w: w.config(token_url=None),
    "token-url-http": lambda w: w.config(token_url=w.config()["token_url"].replace("https", "http")),
    "audience-not-string": lambda w: w.config(audience=123),
    "executable-source": lambda w: w.config(credential_source={
        "executable": {"command": "/bin/sh -c 'echo x'", "timeout_millis": 5000}}),
    # plain http only to link-local metadata addresses (never 169.254.169.254
    # here: that is tested inside a network namespace, test_url_source.py)
    "url-source-http-loopback": lambda w: w.config(credential_source={
        "url": "http://127.0.0.1:9/token"}),
    "json-format-without-field": lambda w: w.config(credential_source={
        "file": str(w.token_file), "format": {"type": "json"}}),
    "lifetime-not-number": lambda w: w.config(
        service_account_impersonation={"token_lifetime_seconds": "long"}),
}


@pytest.mark.parametrize("case", sorted(CONFIGS))
def test_bad_credential_config(regcred, world, seeded, case):
    res = world.run(regcred, bad_config(world, CONFIGS[case](world)))
    expect_failure(res, 2, "config")


def test_executable_source_named_in_error(regcred, world, seeded):
    res = world.run(regcred, bad_config(world, CONFIGS["executable-source"](world)))
    expect_failure(res, 2, "config", "executable")


def test_missing_credential_config(regcred, world, seeded):
    world.config_path.unlink()
    res = world.run(regcred, world.args())
    expect_failure(res, 2, "config")


def test_unknown_fields_are_ignored(regcred, world):
    cfg = world.config()
    cfg["quota_project_id"] = "proj"
    cfg["x_future_field"] = {"a": [1, 2]}
    res = world.run(regcred, bad_config(world, cfg))
    assert res.rc == 0, res


ARGS = {
    "missing-secret": lambda w: w.args(secret=None),
    "missing-registry": lambda w: w.args(registries=()),
    "unknown-flag": lambda w: w.args(extra=["--frobnicate"]),
    "unknown-command": lambda w: ["frobnicate"] + w.args()[1:],
    "no-command": lambda w: [],
    "bad-secret-name": lambda w: w.args(secret="Not_A_Name"),
    "bad-namespace": lambda w: w.args(namespace="UPPER"),
    "bad-timeout": lambda w: w.args(timeout=0),
    "bad-timeout-text": lambda w: w.args(timeout=None, extra=["--timeout", "soon"]),
    "bad-log-format": lambda w: w.args(extra=["--log-format", "xml"]),
    "no-roots": lambda w: w.args(ca_file=None, extra=["--no-embedded-roots"]),
    "flag-without-value": lambda w: w.args() + ["--secret"],
    "bad-registry": lambda w: w.args(registries=["https://europe-docker.pkg.dev/x"]),
}


@pytest.mark.parametrize("case", sorted(ARGS))
def test_usage_errors(regcred, world, seeded, case):
    res = world.run(regcred, ARGS[case](world))
    assert res.rc == 2, res
    assert res.stdout == b"" or case == "no-command", res
    assert any(l.startswith("regcred: error config: ") for l in res.lines()) or \
        "usage" in res.stderr.lower(), res


def test_bad_ca_file(regcred, world, seeded):
    p = world.dir / "notpem.crt"
    p.write_text("this is not a certificate\n")
    res = world.run(regcred, world.args(ca_file=str(p)))
    assert res.rc == 2, res


# BearSSL decodes both, with a key of no bytes: RSA modulus and exponent
# INTEGER 0; a P-256 key whose point is empty.
EMPTY_KEY_CERTS = {
    "rsa": "MFkwRQIBATAAMAAwHhcNMjUwMTAxMDAwMDAwWhcNMzUxMjMxMjM1OTU5WjAAMBow"
           "DQYJKoZIhvcNAQEBBQADCQAwBgIBAAIBADANBgkqhkiG9w0BAQsFAAMBAA==",
    "ec": "MFcwQwIBATAAMAAwHhcNMjUwMTAxMDAwMDAwWhcNMzUxMjMxMjM1OTU5WjAAMBgw"
          "EwYHKoZIzj0CAQYIKoZIzj0DAQcDAQAwDQYJKoZIhvcNAQELBQADAQA=",
}


@pytest.mark.parametrize("kind", sorted(EMPTY_KEY_CERTS))
def test_ca_file_with_an_empty_key_refused_before_any_connection(regcred, world, seeded,
                                                                 kind):
    p = world.dir / "empty-key.crt"
    p.write_text(open(world.pki.rsa_root_file).read() + "-----BEGIN CERTIFICATE-----\n"
                 + EMPTY_KEY_CERTS[kind] + "\n-----END CERTIFICATE-----\n")
    n = len(world.kube.requests)
    res = world.run(regcred, world.args(ca_file=str(p)))
    expect_failure(res, 2, "config", "certificate 2 has an empty public key")
    assert len(world.kube.requests) == n


def test_ca_file_label_with_a_control_byte_refused(regcred, world, seeded):
    p = world.dir / "label.crt"
    p.write_text(open(world.pki.rsa_root_file).read().replace("CERTIFICATE", "CERTIFICATE\x01"))
    res = world.run(regcred, world.args(ca_file=str(p)))
    expect_failure(res, 2, "config", "malformed PEM label")


def test_credential_config_over_file_max_names_the_limit(regcred, world):
    """The documented 64 KiB limit is the one enforced (it used to be read
    into the 256 KiB CA buffer)."""
    cfg = json.dumps(world.config())
    world.write_config(cfg[:-1] + " " * (65537 - len(cfg)) + "}")  # FILE_MAX + 1
    res = world.run(regcred, world.args())
    expect_failure(res, 2, "config", "FILE_MAX")
    world.write_config(cfg[:-1] + " " * (65536 - len(cfg)) + "}")  # FILE_MAX
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
