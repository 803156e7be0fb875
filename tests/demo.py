#!/usr/bin/env python3
"""Run regcred once, the seed's way, against local stand-ins, and show what
it did.

    python3 tests/demo.py path/to/regcred

The seed's flow: a credential config exactly as `gcloud iam
workload-identity-pools create-cred-config ... --azure --app-id-uri ...`
writes it (tests/integration/fixtures), the pod's projected token traded at
Entra ID for a managed identity's token, that token at Google STS, IAM
impersonation, and the Secret applied. The stand-ins run at their real
names (sts.googleapis.com, login.microsoftonline.com, ...) inside a network
namespace of their own (needs root; without it the demo runs the direct
flow, where Google trusts the cluster's issuer, on 127.0.0.1).

Prints the command, regcred's stderr, the requests each stand-in saw and
the Secret as stored (with .dockerconfigjson decoded and the password
redacted); exits with regcred's exit code.
"""
from __future__ import annotations

import base64
import json
import os
import shlex
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "integration"))

import certs  # noqa: E402
import netns  # noqa: E402
from azure_world import AzureWorld  # noqa: E402
from harness import World  # noqa: E402

REDACTED = "<redacted>"


def shown_secret(secret: dict) -> dict:
    s = json.loads(json.dumps(secret))
    raw = base64.b64decode(s["data"][".dockerconfigjson"])
    cfg = json.loads(raw)
    for ent in cfg.get("auths", {}).values():
        if "password" in ent:
            ent["password"] = REDACTED
        if "auth" in ent:
            ent["auth"] = REDACTED
    s["data"][".dockerconfigjson"] = cfg
    return s


def main(argv) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} path/to/regcred", file=sys.stderr)
        return 2
    binary = os.path.abspath(argv[1])
    with tempfile.TemporaryDirectory(prefix="regcred-demo-") as tmp:
        pki = certs.make_pki(os.path.join(tmp, "pki"))
        why = netns.available()
        az = None
        if why is None:
            az = AzureWorld(pki, os.path.join(tmp, "az"))
            world, extra = az.world, az.flags()
            print("The seed's flow: AKS token -> Entra ID -> Google STS -> IAM -> Secret")
            print(f"credential config ({az.fixture}, from gcloud, unchanged):")
            print(world.config_path.read_text())
        else:
            print(f"({why}: showing the direct flow, AKS token -> STS -> IAM -> Secret)")
            world, extra = World(pki, os.path.join(tmp, "world")), []
        try:
            args = world.args(registries=["europe-docker.pkg.dev"], secret="ar-pull-secret",
                              namespace="bifrost", timeout=30, extra=extra)
            print("$ " + shlex.join([binary] + args), flush=True)
            res = world.run(binary, args, check_violations=False)
            print(f"--- regcred stderr (exit {res.rc}, {res.seconds:.2f}s) ---")
            sys.stdout.write(res.stderr)
            print("--- requests seen ---")
            for srv in list(world.others) + [world.sts, world.iam, world.kube]:
                for r in srv.requests:
                    print(f"{srv.name}: {r.method} {r.target} ({r.tls_version or 'plain'}, "
                          f"{r.cipher or '-'})")
            for v in world.violations():
                print(f"REJECTED: {v}")
            print("--- Secret bifrost/ar-pull-secret as stored ---")
            s = world.kube.get("bifrost", "ar-pull-secret")
            print(json.dumps(shown_secret(s), indent=2) if s else "(none)")
            return res.rc
        finally:
            (az or world).close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
