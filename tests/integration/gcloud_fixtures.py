"""Credential configs written by the real gcloud, committed under fixtures/
so that machines without gcloud test with them too. Each entry is the
file name and the exact `gcloud` arguments that wrote it;
test_gcloud_fixtures.py regenerates them where gcloud is installed and
compares byte for byte. Regenerate by hand with

    python3 tests/integration/gcloud_fixtures.py    (writes fixtures/)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DIR = Path(__file__).resolve().parent / "fixtures"
PROJECT_NUMBER = "123456789012"
POOL = f"projects/{PROJECT_NUMBER}/locations/global/workloadIdentityPools/my-pool"
SA_EMAIL = "puller@my-project.iam.gserviceaccount.com"
APP_ID_URI = "api://regcred-google-wif"
ENTRA_AUDIENCE = f"//iam.googleapis.com/{POOL}/providers/entra"
AWS_AUDIENCE = f"//iam.googleapis.com/{POOL}/providers/aws"
# --azure without --app-id-uri: the resource is the provider's own URL
DEFAULT_RESOURCE = f"https://iam.googleapis.com/{POOL}/providers/entra"

_BASE = ["iam", "workload-identity-pools", "create-cred-config"]
FIXTURES = {
    "gcloud-azure-app-id-uri.json": _BASE + [
        f"{POOL}/providers/entra", f"--service-account={SA_EMAIL}", "--azure",
        f"--app-id-uri={APP_ID_URI}"],
    "gcloud-azure-default.json": _BASE + [
        f"{POOL}/providers/entra", f"--service-account={SA_EMAIL}", "--azure"],
    "gcloud-aws.json": _BASE + [
        f"{POOL}/providers/aws", f"--service-account={SA_EMAIL}", "--aws"],
}


def path(name: str) -> Path:
    return DIR / name


def generate(name: str, out_dir: Path) -> bytes:
    """Run gcloud for one fixture into out_dir; its bytes."""
    gcloud = shutil.which("gcloud")
    if not gcloud:
        raise RuntimeError("gcloud not installed")
    out = Path(out_dir) / name
    with tempfile.TemporaryDirectory() as cfg:
        env = dict(os.environ, CLOUDSDK_CONFIG=cfg, CLOUDSDK_CORE_DISABLE_PROMPTS="1")
        subprocess.run([gcloud] + FIXTURES[name] + [f"--output-file={out}"], env=env,
                       check=True, capture_output=True, timeout=120)
    return out.read_bytes()


if __name__ == "__main__":
    DIR.mkdir(exist_ok=True)
    for n in FIXTURES:
        generate(n, DIR)
        print(path(n), file=sys.stderr)
