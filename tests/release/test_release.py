"""Release checks: the SBOM agrees with the lock files, two clean builds give
the same bytes, and the Containerfile built by podman gives the same image
contents as the release image that build.sh assembles.

Run by `./build.sh test` after `./build.sh image` (out/ is filled)."""
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parents[2]
OUT = TOP / "out"


def sha256_file(p):
    return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def lock_entries():
    rows = []
    for line in (TOP / "vendor/lock").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, pkg, ver, file, sha, lic = line.split()
        rows.append(dict(name=name, pkg=pkg, ver=ver, file=file, sha=sha, lic=lic))
    return rows


def anchor_entries():
    rows = []
    for line in (TOP / "vendor/anchors").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        sha, file = line.split()[:2]
        rows.append(dict(sha=sha, file=file))
    return rows


def git(*args, cwd=TOP):
    return subprocess.run(["git", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout.strip()


# --- SBOM -------------------------------------------------------------------

@pytest.fixture(scope="module")
def sbom():
    p = OUT / "regcred.spdx.json"
    assert p.exists(), "out/regcred.spdx.json missing: run ./build.sh first"
    return json.loads(p.read_text())


def pkg_by_id(sbom, spdxid):
    found = [p for p in sbom["packages"] if p["SPDXID"] == spdxid]
    assert len(found) == 1, f"{spdxid}: {len(found)} packages"
    return found[0]


def test_sbom_document(sbom):
    assert sbom["spdxVersion"] == "SPDX-2.3"
    assert sbom["dataLicense"] == "CC0-1.0"
    assert sbom["documentDescribes"] == ["SPDXRef-regcred"]
    sde = int(git("log", "-1", "--format=%ct"))
    want = datetime.fromtimestamp(sde, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sbom["creationInfo"]["created"] == want
    regcred = pkg_by_id(sbom, "SPDXRef-regcred")
    assert regcred["versionInfo"] == (TOP / "VERSION").read_text().strip()
    assert regcred["checksums"] == [
        {"algorithm": "SHA256", "checksumValue": sha256_file(OUT / "regcred")}]


def test_sbom_matches_lock(sbom):
    for row in lock_entries():
        p = pkg_by_id(sbom, "SPDXRef-" + row["name"])
        assert p["versionInfo"] == row["ver"], row["name"]
        assert p["licenseConcluded"] == row["lic"], row["name"]
        assert p["checksums"] == [{"algorithm": "SHA256", "checksumValue": row["sha"]}]
        ref = p["externalRefs"][0]["referenceLocator"]
        assert ref == f"pkg:deb/debian/{row['pkg']}@{row['ver']}?arch=source"
    musl = pkg_by_id(sbom, "SPDXRef-musl")
    # one line per installed architecture (a cross-build adds arm64's)
    ver = sorted(set(subprocess.run(["dpkg-query", "-W", "-f=${Version}\n", "musl-dev"],
                                    capture_output=True, text=True,
                                    check=True).stdout.split()))[0]
    assert musl["versionInfo"] == ver
    assert len(musl["checksums"][0]["checksumValue"]) == 64


def test_sbom_matches_anchors(sbom):
    anchors = anchor_entries()
    got = [p for p in sbom["packages"] if p["SPDXID"].startswith("SPDXRef-anchor-")]
    assert [p["checksums"][0]["checksumValue"] for p in got] == [a["sha"] for a in anchors]
    names = (OUT / "gen/anchors.list").read_text().splitlines()
    assert [p["name"] for p in got] == [n.split(" ", 1)[1] for n in names]
    rels = {(r["relationshipType"], r["relatedSpdxElement"]) for r in sbom["relationships"]}
    for p in got:
        assert ("CONTAINS", p["SPDXID"]) in rels
    for row in lock_entries():
        assert ("STATIC_LINK", "SPDXRef-" + row["name"]) in rels
    assert ("STATIC_LINK", "SPDXRef-musl") in rels


def patch_files():
    return sorted((TOP / "vendor/patches").glob("*.patch"))


def test_sbom_lists_patches(sbom):
    """Every BearSSL patch is a package with its SHA-256, applied to BearSSL
    (PATCH_APPLIED); nothing else claims to be one."""
    files = patch_files()
    assert files, "vendor/patches holds no patch"
    got = [p for p in sbom["packages"] if p["SPDXID"].startswith("SPDXRef-patch-")]
    assert [p["name"] for p in got] == [f.name for f in files]
    rels = {(r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"])
            for r in sbom["relationships"]}
    for p, f in zip(got, files):
        assert p["SPDXID"] == "SPDXRef-patch-" + f.name.split("-")[0]
        assert p["checksums"] == [{"algorithm": "SHA256", "checksumValue": sha256_file(f)}]
        assert (p["SPDXID"], "PATCH_APPLIED", "SPDXRef-bearssl") in rels
    assert f"with {len(files)} regcred patches" in pkg_by_id(sbom, "SPDXRef-bearssl")["comment"]


def test_patches_have_headers_and_are_explained():
    """Each patch opens with a header (what, why, effect) before its diff,
    and SECURITY.md explains it by number."""
    sec = (TOP / "SECURITY.md").read_text()
    for f in patch_files():
        text = f.read_text()
        head = text.split("\n--- a/", 1)[0]
        assert head.startswith(f"regcred patch {f.name[:4]}:"), f.name
        for word in ("What:", "Why:", "Effect:"):
            assert word in head, f"{f.name}: header lacks {word}"
        assert f"`{f.name}`" in sec, f"SECURITY.md does not explain {f.name}"


def test_version_names_the_lock():
    out = subprocess.run([OUT / "regcred", "version"], capture_output=True,
                         text=True, check=True).stdout
    for row in lock_entries():
        assert f"{row['ver']} sha256:{row['sha']}" in out
    assert git("rev-parse", "HEAD") in out


# --- reproducibility ----------------------------------------------------------

def build_clone(dest, umask, tz):
    subprocess.run(["git", "clone", "-q", str(TOP), str(dest)], check=True)
    # the downloads are verified by hash again; copying them spares the network
    dl = TOP / ".vendor/dl"
    if dl.is_dir():
        shutil.copytree(dl, dest / ".vendor/dl")
    env = dict(os.environ, TZ=tz)
    r = subprocess.run(["sh", "-c", f"umask {umask} && ./build.sh image"],
                       cwd=dest, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def explain(a, b):
    if shutil.which("diffoscope"):
        r = subprocess.run(["diffoscope", "--text", "-", str(a), str(b)],
                           capture_output=True, text=True)
        return r.stdout[-6000:]
    r = subprocess.run(["cmp", "-l", str(a), str(b)], capture_output=True, text=True)
    return r.stdout[:3000]


def test_two_clean_builds_are_identical(tmp_path):
    a = tmp_path / "first-clone"
    b = tmp_path / "second" / "elsewhere"
    b.parent.mkdir()
    build_clone(a, "022", "UTC")
    time.sleep(1.1)
    build_clone(b, "077", "Pacific/Auckland")
    for rel in ("out/regcred", "out/regcred.spdx.json", "out/regcred.oci.tar"):
        fa, fb = a / rel, b / rel
        assert fa.read_bytes() == fb.read_bytes(), f"{rel} differs:\n{explain(fa, fb)}"
    da = (a / "out/regcred.oci.digest").read_text()
    db = (b / "out/regcred.oci.digest").read_text()
    assert da == db
    assert da.startswith("sha256:") and len(da.strip()) == 71


def test_binary_holds_no_build_path():
    data = (OUT / "regcred").read_bytes()
    assert str(TOP).encode() not in data
    assert b"/tmp/" not in data


# --- the Containerfile, built by podman ---------------------------------------

def blob(d, digest):
    """A blob's bytes, checked against its digest."""
    data = (d / "blobs/sha256" / digest.split(":")[1]).read_bytes()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data


def oci_dir_read(d):
    index = json.loads((d / "index.json").read_text())
    man_digest = index["manifests"][0]["digest"]
    manifest = json.loads(blob(d, man_digest))
    manifest["_digest"] = man_digest
    config = json.loads(blob(d, manifest["config"]["digest"]))
    files = {}
    for layer in manifest["layers"]:
        blob(d, layer["digest"])
        with tarfile.open(d / "blobs/sha256" / layer["digest"].split(":")[1]) as t:
            for m in t.getmembers():
                if m.isfile():
                    files[m.name.lstrip("./")] = (t.extractfile(m).read(), m.mode, m.uid, m.gid)
                elif not m.isdir():
                    files[m.name.lstrip("./")] = (None, m.mode, m.uid, m.gid)
    return manifest, config, files


@pytest.fixture(scope="module")
def release_image(tmp_path_factory):
    d = tmp_path_factory.mktemp("release-oci")
    with tarfile.open(OUT / "regcred.oci.tar") as t:
        t.extractall(d, filter="data")
    return oci_dir_read(d)


def test_release_image_shape(release_image):
    manifest, config, files = release_image
    assert len(manifest["layers"]) == 1
    assert config["config"]["Entrypoint"] == ["/regcred"]
    assert config["config"]["User"] == "65532:65532"
    assert list(files) == ["regcred"]
    data, mode, uid, gid = files["regcred"]
    assert data == (OUT / "regcred").read_bytes()
    assert (mode, uid, gid) == (0o755, 0, 0)
    assert (OUT / "regcred.oci.digest").read_text().strip() == manifest["_digest"]


@pytest.fixture
def podman_dir():
    # podman refuses a runroot path over 50 characters: keep it short
    d = Path(tempfile.mkdtemp(prefix="rc-", dir="/tmp"))
    yield d
    subprocess.run(["rm", "-rf", str(d)])


def podman(tmp, *args, check=True):
    conf = tmp / "containers.conf"
    conf.write_text("[containers]\ndefault_ulimits = []\n")
    env = dict(os.environ, CONTAINERS_CONF=str(conf))
    cmd = ["podman", "--storage-driver", "vfs", "--runtime", "runc",
           "--cgroup-manager", "cgroupfs", "--root", str(tmp / "storage"),
           "--runroot", str(tmp / "run"), *args]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if check:
        assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stderr[-3000:]}"
    return r


def test_containerfile_matches_release_image(podman_dir, release_image):
    tmp_path = podman_dir
    assert shutil.which("podman"), "podman is needed (./build.sh test installs it)"
    _, rconfig, rfiles = release_image
    labels = rconfig["config"]["Labels"]
    podman(tmp_path, "build", "--timestamp", "0", "-f", str(TOP / "Containerfile"),
           "--build-arg", "VERSION=" + labels["org.opencontainers.image.version"],
           "--build-arg", "REVISION=" + labels["org.opencontainers.image.revision"],
           "--build-arg", "CREATED=" + labels["org.opencontainers.image.created"],
           "-t", "localhost/regcred:test", str(TOP))
    out = tmp_path / "podman-oci"
    podman(tmp_path, "save", "--format", "oci-dir", "-o", str(out), "localhost/regcred:test")
    _, pconfig, pfiles = oci_dir_read(out)
    assert pconfig["config"]["Entrypoint"] == rconfig["config"]["Entrypoint"]
    assert pconfig["config"]["User"] == rconfig["config"]["User"]
    plabels = {k: v for k, v in pconfig["config"].get("Labels", {}).items()
               if not k.startswith("io.buildah.")}
    assert plabels == labels
    assert list(pfiles) == ["regcred"]
    assert pfiles["regcred"][0] == rfiles["regcred"][0]
    # and it runs: the static binary needs nothing else in the image
    r = podman(tmp_path, "run", "--rm", "--network", "none", "--read-only",
               "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
               "localhost/regcred:test", "version")
    assert r.stdout.startswith("regcred " + labels["org.opencontainers.image.version"])


# --- the archive's name: regcred:VERSION ----------------------------------------

def test_index_names_the_image_and_only_the_manifest_sets_the_digest():
    """index.json names the one manifest regcred:VERSION in both annotations
    loaders read; the digest build.sh prints is the manifest's, which the
    name is not part of."""
    version = (TOP / "VERSION").read_text().strip()
    with tarfile.open(OUT / "regcred.oci.tar") as t:
        index = json.loads(t.extractfile("index.json").read())
    [desc] = index["manifests"]
    assert desc["annotations"] == {"io.containerd.image.name": f"regcred:{version}",
                                   "org.opencontainers.image.ref.name": f"regcred:{version}"}
    assert desc["digest"] == (OUT / "regcred.oci.digest").read_text().strip()
    with tarfile.open(OUT / "regcred.oci.tar") as t:
        manifest = t.extractfile("blobs/sha256/" + desc["digest"].split(":")[1]).read()
    assert b"regcred:" not in manifest and b"ref.name" not in manifest


def test_podman_load_names_it_regcred_version(podman_dir):
    """podman load -i out/regcred.oci.tar gives localhost/regcred:VERSION
    (podman's spelling of a name without a registry; `regcred:VERSION`
    finds it), with the digest build.sh printed, and it runs."""
    version = (TOP / "VERSION").read_text().strip()
    digest = (OUT / "regcred.oci.digest").read_text().strip()
    r = podman(podman_dir, "load", "-i", str(OUT / "regcred.oci.tar"))
    assert f"Loaded image: localhost/regcred:{version}" in r.stdout, r.stdout + r.stderr
    r = podman(podman_dir, "images", "--format", "{{.Repository}}:{{.Tag}} {{.Digest}}")
    assert r.stdout.split("\n")[:-1] == [f"localhost/regcred:{version} {digest}"], r.stdout
    r = podman(podman_dir, "run", "--rm", "--network", "none", "--read-only",
               "--cap-drop", "ALL", f"regcred:{version}", "version")
    assert r.stdout.startswith(f"regcred {version}"), r.stdout
    # the image in the archive addressed by that name (containers/image, as
    # skopeo does), loaded afresh
    podman(podman_dir, "rmi", f"regcred:{version}")
    podman(podman_dir, "pull", f"oci-archive:{OUT / 'regcred.oci.tar'}:regcred:{version}")
    r = podman(podman_dir, "images", "--format", "{{.Repository}}:{{.Tag}} {{.Digest}}")
    assert r.stdout.split("\n")[:-1] == [f"localhost/regcred:{version} {digest}"], r.stdout


def test_skopeo_finds_regcred_version_in_the_archive(tmp_path):
    """skopeo addresses the image in the archive as regcred:VERSION, and
    copying it keeps the digest (what pushing by digest relies on). Skipped without
    skopeo: podman's test above selects the image by the same name through
    the same library (containers/image)."""
    if not shutil.which("skopeo"):
        pytest.skip("skopeo is not installed (apt-get install skopeo)")
    version = (TOP / "VERSION").read_text().strip()
    digest = (OUT / "regcred.oci.digest").read_text().strip()
    src = f"oci-archive:{OUT / 'regcred.oci.tar'}:regcred:{version}"
    r = subprocess.run(["skopeo", "inspect", "--raw", src], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "sha256:" + hashlib.sha256(r.stdout.encode()).hexdigest() == digest
    r = subprocess.run(["skopeo", "inspect", f"oci-archive:{OUT / 'regcred.oci.tar'}:0.0.0-other"],
                       capture_output=True, text=True)
    assert r.returncode != 0                          # a name that is not there
    # README's push, to a local layout instead of a registry
    dest, pushed = tmp_path / "copy", tmp_path / "pushed.digest"
    r = subprocess.run(["skopeo", "copy", "--preserve-digests", "--digestfile", str(pushed),
                        src, f"oci:{dest}:regcred:{version}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert pushed.read_text().strip() == digest
    index = json.loads((dest / "index.json").read_text())
    assert [m["digest"] for m in index["manifests"]] == [digest]


# --- the lock and the anchors are enforced -------------------------------------

def tampered_clone(tmp_path, rel, old, new):
    d = tmp_path / "tampered"
    subprocess.run(["git", "clone", "-q", str(TOP), str(d)], check=True)
    p = d / rel
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new, 1))
    return d


def test_source_hash_mismatch_fails_the_build(tmp_path):
    row = [r for r in lock_entries() if r["name"] == "jsmn"][0]
    bad = row["sha"][:-1] + ("0" if row["sha"][-1] != "0" else "1")
    d = tampered_clone(tmp_path, "vendor/lock", row["sha"], bad)
    r = subprocess.run(["./build.sh", "gen"], cwd=d, capture_output=True, text=True)
    assert r.returncode != 0
    assert f"SHA-256 MISMATCH for {row['file']}" in r.stderr, r.stderr[-2000:]
    assert not (d / ".vendor/src/jsmn").exists()


def test_patch_that_does_not_apply_fails_the_build(tmp_path):
    f = patch_files()[0]
    rel = f"vendor/patches/{f.name}"
    ctx = [l for l in f.read_text().splitlines() if l.startswith(" ") and len(l) > 20][0]
    d = tampered_clone(tmp_path, rel, ctx + "\n", ctx + " changed\n")
    shutil.copytree(TOP / ".vendor/dl", d / ".vendor/dl")
    r = subprocess.run(["./build.sh", "gen"], cwd=d, capture_output=True, text=True)
    assert r.returncode != 0
    assert f"BearSSL patch {rel} does not apply" in r.stderr, r.stderr[-2000:]


def test_changed_trust_anchor_fails_the_build(tmp_path):
    a = anchor_entries()[0]
    bad = a["sha"][:-1] + ("0" if a["sha"][-1] != "0" else "1")
    d = tampered_clone(tmp_path, "vendor/anchors", a["sha"], bad)
    shutil.copytree(TOP / ".vendor/dl", d / ".vendor/dl")
    r = subprocess.run(["./build.sh", "gen"], cwd=d, capture_output=True, text=True)
    assert r.returncode != 0
    assert f"trust anchor {a['file']} changed" in r.stderr, r.stderr[-2000:]
    assert not (d / "out/gen/anchors_gen.c").exists()
