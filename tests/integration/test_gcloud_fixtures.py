"""The committed gcloud-made credential configs (fixtures/) are what this
machine's gcloud writes today, byte for byte; skipped where gcloud is not
installed. Also checks the shapes the tests rely on."""
from __future__ import annotations

import json
import shutil

import pytest

import gcloud_fixtures as G


@pytest.mark.parametrize("name", sorted(G.FIXTURES))
def test_gcloud_fixture_regenerates_byte_for_byte(name, tmp_path):
    if not shutil.which("gcloud"):
        pytest.skip("gcloud not installed")
    got = G.generate(name, tmp_path)
    assert got == G.path(name).read_bytes(), \
        f"gcloud now writes {name} differently: run python3 tests/integration/gcloud_fixtures.py"


def test_gcloud_azure_fixture_shape():
    cfg = json.loads(G.path("gcloud-azure-app-id-uri.json").read_bytes())
    assert cfg["token_url"] == "https://sts.googleapis.com/v1/token"
    assert cfg["audience"] == G.ENTRA_AUDIENCE
    cs = cfg["credential_source"]
    assert cs["url"] == ("http://169.254.169.254/metadata/identity/oauth2/token"
                         f"?api-version=2018-02-01&resource={G.APP_ID_URI}")
    assert cs["headers"] == {"Metadata": "True"}
    assert cs["format"] == {"type": "json", "subject_token_field_name": "access_token"}
    assert cfg["service_account_impersonation_url"].startswith(
        f"https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/{G.SA_EMAIL}:")


def test_gcloud_aws_fixture_shape():
    cs = json.loads(G.path("gcloud-aws.json").read_bytes())["credential_source"]
    assert cs["environment_id"] == "aws1"
    assert cs["url"].startswith("http://169.254.169.254/")
    assert "regional_cred_verification_url" in cs and "region_url" in cs
