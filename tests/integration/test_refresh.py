"""Successful runs: what regcred sends, what it stores, what it prints."""
from __future__ import annotations

import base64
import json
import os
import subprocess

import pytest

import standins as S
import harness as H
from harness import NAMESPACE, REGISTRY, SECRET, decode_dockercfg, expect_failure, step_lines

KUBE_PATH = f"/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}"


def assert_one_each(world, sts=1, iam=1, patch=1):
    assert len(world.sts.requests) == sts, world.sts.methods()
    assert len(world.iam.requests) == iam, world.iam.methods()
    assert world.kube.methods() == ["PATCH"] * patch, world.kube.methods()
    for r in world.kube.requests:
        assert r.path == KUBE_PATH
        assert r.query == {"fieldManager": ["regcred"], "force": ["true"]}


def expected_cfg(registries, password) -> dict:
    auth = base64.b64encode(f"oauth2accesstoken:{password}".encode()).decode()
    return {"auths": {r: {"username": "oauth2accesstoken", "password": password, "auth": auth}
                      for r in sorted(set(registries))}}


def test_refresh_creates_then_updates_in_place(regcred, world):
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert res.stdout == b""
    assert_one_each(world)
    s1 = world.kube.get(NAMESPACE, SECRET)
    assert s1["type"] == S.DOCKERCFG_TYPE
    assert s1["metadata"]["labels"] == S.MANAGED_BY
    assert json.loads(decode_dockercfg(s1)) == expected_cfg([REGISTRY], world.iam.issued[0])
    # the STS request and the IAM request carried what they must
    sts_req = world.sts.requests[0]
    assert sts_req.header("Host") == world.sts.hostport
    assert sts_req.tls_version == "TLSv1.2"
    assert world.iam.requests[0].header("Authorization") == f"Bearer {world.sts.issued[0]}"

    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert_one_each(world, sts=2, iam=2, patch=2)
    s2 = world.kube.get(NAMESPACE, SECRET)
    assert s2["metadata"]["uid"] == s1["metadata"]["uid"]
    assert s2["metadata"]["creationTimestamp"] == s1["metadata"]["creationTimestamp"]
    assert int(s2["metadata"]["resourceVersion"]) > int(s1["metadata"]["resourceVersion"])
    assert json.loads(decode_dockercfg(s2)) == expected_cfg([REGISTRY], world.iam.issued[1])


def test_refresh_takes_over_kubectl_created_secret(regcred, world):
    seeded = world.kube.seed(NAMESPACE, SECRET)
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert_one_each(world)
    s = world.kube.get(NAMESPACE, SECRET)
    assert s["metadata"]["uid"] == seeded["metadata"]["uid"]
    assert json.loads(decode_dockercfg(s)) == expected_cfg([REGISTRY], world.iam.issued[0])
    assert [m["manager"] for m in s["metadata"]["managedFields"]] == ["kubectl-create", "regcred"]


def test_expiry_annotation_is_the_access_token_expiry(regcred, world):
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    ann = world.kube.get(NAMESPACE, SECRET)["metadata"]["annotations"][S.EXPIRY_ANNOTATION]
    got = S.parse_rfc3339(ann)
    want = S.parse_rfc3339(world.iam.expire_times[0])
    assert abs((got - want).total_seconds()) <= 5, (ann, world.iam.expire_times[0])


def test_refresh_without_impersonation(regcred, world):
    world.write_config(impersonate=False)
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert_one_each(world, iam=0)
    assert world.iam.connections == 0
    s = world.kube.get(NAMESPACE, SECRET)
    assert json.loads(decode_dockercfg(s)) == expected_cfg([REGISTRY], world.sts.issued[0])
    ann = S.parse_rfc3339(s["metadata"]["annotations"][S.EXPIRY_ANNOTATION])
    delta = (ann - S.utcnow()).total_seconds()
    assert 3500 <= delta <= 3605, ann     # expires_in 3599 from the STS answer


def test_token_prints_only_the_token(regcred, world):
    res = world.run(regcred, world.args(cmd="token", registries=()), token_output=True)
    assert res.rc == 0, res
    assert res.stdout == world.iam.issued[0].encode() + b"\n", res
    assert world.kube.connections == 0
    assert len(world.sts.requests) == 1 and len(world.iam.requests) == 1


def test_token_without_impersonation_prints_sts_token(regcred, world):
    world.write_config(impersonate=False)
    res = world.run(regcred, world.args(cmd="token", registries=()), token_output=True)
    assert res.rc == 0, res
    assert res.stdout == world.sts.issued[0].encode() + b"\n", res
    assert world.iam.connections == 0


def test_several_registries_sorted(regcred, world):
    regs = ["us-docker.pkg.dev", "europe-docker.pkg.dev", "asia-docker.pkg.dev",
            "localhost:5000"]
    res = world.run(regcred, world.args(registries=regs))
    assert res.rc == 0, res
    raw = decode_dockercfg(world.kube.get(NAMESPACE, SECRET))
    want = expected_cfg(regs, world.iam.issued[0])
    assert list(json.loads(raw)["auths"]) == sorted(regs)
    # Go's encoder: no spaces, map keys in byte order, entries in struct order
    assert raw == json.dumps(want, separators=(",", ":")).encode()


def test_several_registries_deduplicated(regcred, world):
    """DESIGN.md section 4: one entry each, keys sorted and de-duplicated."""
    regs = ["us-docker.pkg.dev", "europe-docker.pkg.dev", "europe-docker.pkg.dev"]
    res = world.run(regcred, world.args(registries=regs))
    assert res.rc == 0, res
    raw = decode_dockercfg(world.kube.get(NAMESPACE, SECRET))
    assert raw == json.dumps(expected_cfg(regs, world.iam.issued[0]),
                             separators=(",", ":")).encode()


def test_registries_from_env_deduplicated(regcred, world):
    args = [a for a in world.args(registries=())]
    res = world.run(regcred, args, env={"REGCRED_REGISTRY": "b.pkg.dev, a.pkg.dev,b.pkg.dev"})
    assert res.rc == 0, res
    raw = decode_dockercfg(world.kube.get(NAMESPACE, SECRET))
    assert list(json.loads(raw)["auths"]) == ["a.pkg.dev", "b.pkg.dev"]


def _kubectl_dockercfg(tmp_path, registry, token) -> bytes:
    home = tmp_path / "kubectl-home"
    home.mkdir(exist_ok=True)
    kubeconfig = home / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
           "KUBECONFIG": str(kubeconfig)}
    out = subprocess.run(["kubectl", "create", "secret", "docker-registry", "x",
                          f"--docker-server={registry}", "--docker-username=oauth2accesstoken",
                          f"--docker-password={token}", "--dry-run=client", "-o", "json"],
                         env=env, capture_output=True, timeout=30, check=True)
    return base64.b64decode(json.loads(out.stdout)["data"][".dockerconfigjson"])


@pytest.mark.parametrize("registry", ["europe-docker.pkg.dev", "us-central1-docker.pkg.dev",
                                      "registry.example:5000"])
def test_dockerconfigjson_is_byte_identical_to_kubectl(regcred, world, tmp_path, registry):
    res = world.run(regcred, world.args(registries=[registry]))
    assert res.rc == 0, res
    raw = decode_dockercfg(world.kube.get(NAMESPACE, SECRET))
    assert raw == _kubectl_dockercfg(tmp_path, registry, world.iam.issued[0])


def test_configuration_from_environment(regcred, world):
    """Every option as REGCRED_*; namespace from sa-dir; API from KUBERNETES_SERVICE_*."""
    env = {
        "REGCRED_CREDENTIAL_CONFIG": str(world.config_path),
        "REGCRED_REGISTRY": "us-docker.pkg.dev,europe-docker.pkg.dev",
        "REGCRED_SECRET": SECRET,
        "REGCRED_KUBE_SA_DIR": str(world.sa_dir),
        "REGCRED_CA_FILE": world.sts.cert.root_file,
        "REGCRED_NO_EMBEDDED_ROOTS": "1",
        "REGCRED_TIMEOUT": "10",
        "REGCRED_LOG_FORMAT": "json",
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": str(world.kube.port),
    }
    res = world.run(regcred, ["refresh"], env=env)
    assert res.rc == 0, res
    assert_one_each(world)
    raw = decode_dockercfg(world.kube.get(NAMESPACE, SECRET))
    assert list(json.loads(raw)["auths"]) == ["europe-docker.pkg.dev", "us-docker.pkg.dev"]
    for line in res.lines():
        assert set(json.loads(line)) == {"time", "level", "step", "msg"}, line


def test_google_application_credentials_is_honoured(regcred, world):
    args = [a for a in world.args() if a not in ("--credential-config", str(world.config_path))]
    res = world.run(regcred, args, env={"GOOGLE_APPLICATION_CREDENTIALS": str(world.config_path)})
    assert res.rc == 0, res
    assert_one_each(world)


def test_flag_wins_over_environment(regcred, world):
    env = {"REGCRED_SECRET": "from-env", "REGCRED_NAMESPACE": "kube-system",
           "REGCRED_REGISTRY": "env-docker.pkg.dev"}
    res = world.run(regcred, world.args(), env=env)
    assert res.rc == 0, res
    assert world.kube.get(NAMESPACE, SECRET) is not None
    assert world.kube.get("kube-system", "from-env") is None
    assert list(json.loads(decode_dockercfg(world.kube.get(NAMESPACE, SECRET)))["auths"]) == [REGISTRY]


def test_json_token_file(regcred, world):
    tok = S.fake_jwt()
    world.set_subject_token(tok, json.dumps({"id_token": tok, "other": "x"}))
    world.write_config(credential_source={
        "file": str(world.token_file),
        "format": {"type": "json", "subject_token_field_name": "id_token"}})
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert_one_each(world)


def test_text_token_file_trailing_newline(regcred, world):
    tok = S.fake_jwt()
    world.set_subject_token(tok, tok + "\n")
    res = world.run(regcred, world.args())
    assert res.rc == 0, res


def test_token_file_is_reread_every_run(regcred, world):
    assert world.run(regcred, world.args()).rc == 0
    world.set_subject_token(S.fake_jwt())       # rotated projected token
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert len(world.sts.requests) == 2


def test_client_credentials_use_basic_auth(regcred, world):
    world.use_client_credentials()
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    want = "Basic " + base64.b64encode(b"regcred-client-1:s3cr3t-client-secret-value").decode()
    assert world.sts.requests[0].header_all("Authorization") == [want]
    assert b"client_secret" not in world.sts.requests[0].body
    assert b"client_id" not in world.sts.requests[0].body


def test_token_lifetime_from_config(regcred, world):
    world.iam.lifetime = "1800s"
    world.write_config(service_account_impersonation={"token_lifetime_seconds": 1800})
    res = world.run(regcred, world.args())
    assert res.rc == 0, res
    assert json.loads(world.iam.requests[0].body)["lifetime"] == "1800s"


def test_sts_expires_in_as_string(regcred, world):
    world.write_config(impersonate=False)
    world.sts.expires_in = "3599"
    res = world.run(regcred, world.args())
    assert res.rc == 0, res


def test_kube_answers_chunked(regcred, world):
    world.kube.chunked = True
    res = world.run(regcred, world.args())
    assert res.rc == 0, res


def test_sa_token_sent_as_bearer_and_namespace_from_sa_dir(regcred, world):
    res = world.run(regcred, world.args(namespace=None))
    assert res.rc == 0, res
    r = world.kube.requests[0]
    assert r.header_all("Authorization") == [f"Bearer {world.sa_token}"]
    assert r.header("Content-Type") == "application/apply-patch+yaml"
    assert r.header("Host") == world.kube.hostport
    assert int(r.header("Content-Length")) == len(r.body)
    assert r.tls_version == "TLSv1.2"
    body = r.json()
    assert body["metadata"]["name"] == SECRET and body["metadata"]["namespace"] == NAMESPACE


def test_text_log_lines_are_well_formed(regcred, world):
    res = world.run(regcred, world.args(extra=["--log-format", "text"]))
    assert res.rc == 0, res
    for line in res.lines():
        assert line.startswith("regcred: "), line
        level, step = line.split(" ")[1:3]
        assert step.rstrip(":") in ("config", "subject-token", "sts", "iam", "kube",
                                    "lockdown"), line
        # but a lockdown weaker than asked for is said (no Landlock, or
        # qemu-user's missing seccomp): an info line of its own step
        if step == "lockdown:":
            assert level == "info" and ("no Landlock" in line or "NO seccomp" in line), line
    assert not step_lines(res, "kube", "error")


def test_version_and_help(regcred, world):
    res = world.run(regcred, ["version"])
    assert res.rc == 0, res
    assert res.stdout.strip(), res
    # the architecture it was built for, as its ELF header says
    assert f"\narch: {H.elf_machine(regcred)}\n".encode() in res.stdout, res
    res = world.run(regcred, ["--help"])
    assert res.rc == 0, res
    assert b"--credential-config" in res.stdout + res.stderr.encode()
    assert world.network_requests() == 0


def test_token_to_a_closed_stdout_is_exit_3_not_sigpipe(regcred, world):
    """`regcred token | head -c0`: the reader is gone; EPIPE is reported
    as a failure of the token step, never death by SIGPIPE."""
    import time as _time
    r, w = os.pipe()
    os.close(r)
    env = {k: os.environ[k] for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS") if k in os.environ}
    t0 = _time.monotonic()
    p = subprocess.run(H.command(regcred) + [str(a) for a in world.args(cmd="token", registries=())],
                       stdout=w, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                       env=env, cwd=world.dir, timeout=30)
    os.close(w)
    res = H.Result([regcred], p.returncode, b"", p.stderr.decode(errors="replace"),
                   _time.monotonic() - t0)
    world.check_hygiene(res)
    expect_failure(res, 3, "token", "writing the token to stdout failed")


GOOGLE_TOKEN_MAX = 12288       # Google's documented upper bound for STS tokens


@pytest.mark.parametrize("impersonate", [True, False], ids=["iam", "sts-only"])
def test_largest_google_tokens_end_to_end(regcred, world, impersonate):
    """12,288-byte tokens from STS and IAM, and 16 registries: the Secret
    holds them all, exactly as kubectl would write it."""
    world.sts.token_len = GOOGLE_TOKEN_MAX
    world.iam.token_len = GOOGLE_TOKEN_MAX
    world.write_config(impersonate=impersonate)
    regs = [f"r{i:02d}" + ("." + "x" * 60) * 3 + ".pkg.dev" for i in range(16)]
    res = world.run(regcred, world.args(registries=regs, timeout=20))
    assert res.rc == 0, res
    tok = (world.iam if impersonate else world.sts).issued[0]
    assert len(tok) == GOOGLE_TOKEN_MAX
    raw = decode_dockercfg(world.kube.get(NAMESPACE, SECRET))
    assert json.loads(raw) == expected_cfg(regs, tok)


def test_token_over_the_limit_is_refused_naming_it(regcred, world, seeded):
    world.sts.token_len = GOOGLE_TOKEN_MAX + 1
    res = world.run(regcred, world.args())
    expect_failure(res, 3, "sts", "TOKEN_MAX")


def test_no_core_file_can_hold_the_tokens(regcred, world):
    """RLIMIT_CORE is 0 from the start (and the process is not dumpable):
    looked at while regcred waits on a stalled STS, tokens in memory."""
    import time as _time
    world.sts.inject(S.STALL_TCP, times=None)
    p = subprocess.Popen(H.command(regcred) + [str(a) for a in world.args(timeout=5)],
                         cwd=world.dir, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env={})
    try:
        deadline = _time.monotonic() + 5
        while world.sts.connections == 0 and _time.monotonic() < deadline:
            _time.sleep(0.02)
        assert world.sts.connections >= 1
        with open(f"/proc/{p.pid}/limits") as f:
            core = [l for l in f if l.startswith("Max core file size")][0].split()
        assert core[4:6] == ["0", "0"], core
    finally:
        p.kill()
        p.wait()
