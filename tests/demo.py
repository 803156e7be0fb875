#!/usr/bin/env python3
"""Run regcred once against local stand-ins of Google STS, IAM and the
Kubernetes API, and show what it did.

    python3 tests/demo.py path/to/regcred

Prints the command, regcred's stderr and the Secret as stored (with
.dockerconfigjson decoded and the password redacted); exits with regcred's
exit code. Everything happens on 127.0.0.1 in a temporary directory.
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
        world = World(pki, os.path.join(tmp, "world"))
        try:
            args = world.args(registries=["europe-docker.pkg.dev"], secret="ar-pull-secret",
                              namespace="bifrost", timeout=30)
            print("$ " + shlex.join([binary] + args), flush=True)
            res = world.run(binary, args, check_violations=False)
            print(f"--- regcred stderr (exit {res.rc}, {res.seconds:.2f}s) ---")
            sys.stdout.write(res.stderr)
            print("--- requests seen ---")
            for srv in (world.sts, world.iam, world.kube):
                for r in srv.requests:
                    print(f"{srv.name}: {r.method} {r.target} ({r.tls_version}, {r.cipher})")
            for v in world.violations():
                print(f"REJECTED: {v}")
            print("--- Secret bifrost/ar-pull-secret as stored ---")
            s = world.kube.get("bifrost", "ar-pull-secret")
            print(json.dumps(shown_secret(s), indent=2) if s else "(none)")
            return res.rc
        finally:
            world.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
