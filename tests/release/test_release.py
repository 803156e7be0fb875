"""Release checks: the SBOM agrees with the lock files and covers both
architectures' binaries, two clean builds give the same bytes (binaries,
SBOM, image index), the image is one OCI image index with a linux/amd64 and
a linux/arm64 image that podman and skopeo select by --arch, and the
Containerfile built by podman for either platform gives the same image
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
ARCHES = ("amd64", "arm64")                     # the index's order
HOST = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                      check=True).stdout.strip()
MACHINE = {"amd64": ("x86_64", 0x3e), "arm64": ("aarch64", 0xb7)}
PLATFORM = {"amd64": {"architecture": "amd64", "os": "linux"},
            "arm64": {"architecture": "arm64", "os": "linux", "variant": "v8"}}
QEMU = {"amd64": "qemu-x86_64-static", "arm64": "qemu-aarch64-static"}


def binary(arch):
    return OUT / arch / "regcred"


def run_binary(arch, *args):
    """Runs out/ARCH/regcred, under qemu-user when ARCH is not this machine's."""
    prefix = [] if arch == HOST else [shutil.which(QEMU[arch]) or QEMU[arch]]
    return subprocess.run(prefix + [str(binary(arch)), *args], capture_output=True,
                          text=True, check=True).stdout


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


def sbom_binaries():
    """SPDX id -> binary: out/regcred (this machine's), and each other one."""
    b = {"SPDXRef-regcred": OUT / "regcred"}
    for a in ARCHES:
        if a != HOST:
            b[f"SPDXRef-regcred-{a}"] = binary(a)
    return b


def test_sbom_document(sbom):
    assert sbom["spdxVersion"] == "SPDX-2.3"
    assert sbom["dataLicense"] == "CC0-1.0"
    assert sbom["documentDescribes"] == list(sbom_binaries())
    sde = int(git("log", "-1", "--format=%ct"))
    want = datetime.fromtimestamp(sde, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sbom["creationInfo"]["created"] == want
    assert (OUT / "regcred").read_bytes() == binary(HOST).read_bytes()
    for spdxid, path in sbom_binaries().items():
        regcred = pkg_by_id(sbom, spdxid)
        assert regcred["name"] == "regcred"
        assert regcred["versionInfo"] == (TOP / "VERSION").read_text().strip()
        assert regcred["checksums"] == [
            {"algorithm": "SHA256", "checksumValue": sha256_file(path)}], spdxid


def test_sbom_matches_lock(sbom):
    for row in lock_entries():
        p = pkg_by_id(sbom, "SPDXRef-" + row["name"])
        assert p["versionInfo"] == row["ver"], row["name"]
        assert p["licenseConcluded"] == row["lic"], row["name"]
        assert p["checksums"] == [{"algorithm": "SHA256", "checksumValue": row["sha"]}]
        ref = p["externalRefs"][0]["referenceLocator"]
        assert ref == f"pkg:deb/debian/{row['pkg']}@{row['ver']}?arch=source"
    musl = pkg_by_id(sbom, "SPDXRef-musl")
    ver = subprocess.run(["dpkg-query", "-W", "-f=${Version}", f"musl-dev:{HOST}"],
                         capture_output=True, text=True, check=True).stdout
    assert musl["versionInfo"] == ver
    assert len(musl["checksums"][0]["checksumValue"]) == 64


def test_sbom_matches_anchors(sbom):
    anchors = anchor_entries()
    got = [p for p in sbom["packages"] if p["SPDXID"].startswith("SPDXRef-anchor-")]
    assert [p["checksums"][0]["checksumValue"] for p in got] == [a["sha"] for a in anchors]
    names = (OUT / "gen/anchors.list").read_text().splitlines()
    assert [p["name"] for p in got] == [n.split(" ", 1)[1] for n in names]
    rels = {(r["spdxElementId"], r["relationshipType"], r["relatedSpdxElement"])
            for r in sbom["relationships"]}
    for b in sbom_binaries():                 # every binary, every architecture
        assert ("SPDXRef-DOCUMENT", "DESCRIBES", b) in rels
        for p in got:
            assert (b, "CONTAINS", p["SPDXID"]) in rels
        for row in lock_entries():
            assert (b, "STATIC_LINK", "SPDXRef-" + row["name"]) in rels
        assert (b, "STATIC_LINK", "SPDXRef-musl") in rels


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


@pytest.mark.parametrize("arch", ARCHES)
def test_version_names_the_lock_and_the_architecture(arch):
    out = run_binary(arch, "version")
    for row in lock_entries():
        assert f"{row['ver']} sha256:{row['sha']}" in out
    assert git("rev-parse", "HEAD") in out
    assert f"\narch: {MACHINE[arch][0]}\n" in out


@pytest.mark.parametrize("arch", ARCHES)
def test_binary_is_static_pie_for_its_machine(arch):
    """What the ELF tools say: the machine, a PIE (ET_DYN) with no
    interpreter and nothing NEEDED, stripped."""
    data = binary(arch).read_bytes()
    assert data[:4] == b"\x7fELF" and data[4] == 2          # ELF64
    assert int.from_bytes(data[18:20], "little") == MACHINE[arch][1]
    h = subprocess.run(["readelf", "-h", str(binary(arch))], capture_output=True,
                       text=True, check=True).stdout
    assert "DYN (Position-Independent Executable file)" in h, h
    assert ("AArch64" if arch == "arm64" else "X86-64") in h, h
    l = subprocess.run(["readelf", "-lW", str(binary(arch))], capture_output=True,
                       text=True, check=True).stdout
    assert "INTERP" not in l and "GNU_STACK" in l, l
    assert "RWE" not in l, l                                 # no executable stack
    d = subprocess.run(["readelf", "-d", str(binary(arch))], capture_output=True,
                       text=True, check=True).stdout
    assert "NEEDED" not in d and "BIND_NOW" in d, d
    s = subprocess.run(["readelf", "-S", str(binary(arch))], capture_output=True,
                       text=True, check=True).stdout
    assert ".symtab" not in s


NO_CHACHA = {"chacha20_sse2", "chacha20_ct", "poly1305_ctmulq", "poly1305_ctmul",
             "poly1305_i15", "poly1305_ctmul32"}     # the suites are dropped (issue 12)
IMPLS = {   # BearSSL objects each binary must link, and must not
    "amd64": ({"aes_x86ni", "aes_ct64", "ghash_pclmul", "ghash_ctmul64", "rsa_i62_pub",
               "ec_all_m31"}, NO_CHACHA),
    "arm64": ({"aes_ct64", "ghash_ctmul64", "rsa_i62_pub", "ec_all_m31"},
              {"aes_x86ni", "ghash_pclmul"} | NO_CHACHA),
}


@pytest.mark.parametrize("arch", ARCHES)
def test_crypto_implementations_as_documented(arch):
    """The linker map says which BearSSL code each binary holds (SECURITY.md
    lists it): never a table-based AES (aes_big, aes_small) anywhere; on
    arm64 the constant-time 64-bit AES and GHASH, no x86 code."""
    m = (OUT / arch / "regcred.unstripped.map").read_text()
    objs = set()
    for line in m.splitlines():
        i = line.find("libbearssl.a(src_")
        if i >= 0:
            objs.add(line[i:].split("(", 1)[1].split(")")[0].split("_", 2)[2][:-2])
    want, never = IMPLS[arch]
    assert want <= objs, sorted(want - objs)
    assert not (never & objs), sorted(never & objs)
    assert not [o for o in objs if o.startswith(("aes_big", "aes_small"))], sorted(objs)


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
    for rel in ("out/regcred", "out/amd64/regcred", "out/arm64/regcred",
                "out/regcred.spdx.json", "out/regcred.oci.tar"):
        fa, fb = a / rel, b / rel
        assert fa.read_bytes() == fb.read_bytes(), f"{rel} differs:\n{explain(fa, fb)}"
    da = (a / "out/regcred.oci.digest").read_text()
    db = (b / "out/regcred.oci.digest").read_text()
    assert da == db
    assert da.startswith("sha256:") and len(da.strip()) == 71
    for arch in ARCHES:                       # each platform's manifest too
        rel = f"out/{arch}/regcred.oci.digest"
        assert (a / rel).read_text() == (b / rel).read_text(), rel


@pytest.mark.parametrize("arch", ARCHES)
def test_binary_holds_no_build_path(arch):
    data = binary(arch).read_bytes()
    assert str(TOP).encode() not in data
    assert b"/tmp/" not in data


# --- the Containerfile, built by podman ---------------------------------------

def blob(d, digest):
    """A blob's bytes, checked against its digest."""
    data = (d / "blobs/sha256" / digest.split(":")[1]).read_bytes()
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest
    return data


def manifest_read(d, man_digest):
    """An image manifest, its config and the files of its layers."""
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


def oci_dir_read(d):
    """The one image of an OCI layout (podman save --format oci-dir)."""
    index = json.loads((d / "index.json").read_text())
    return manifest_read(d, index["manifests"][0]["digest"])


INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="module")
def release_image(tmp_path_factory):
    """The archive's image index and, by architecture, each image."""
    d = tmp_path_factory.mktemp("release-oci")
    with tarfile.open(OUT / "regcred.oci.tar") as t:
        t.extractall(d, filter="data")
    layout = json.loads((d / "index.json").read_text())
    [desc] = layout["manifests"]
    assert desc["mediaType"] == INDEX_TYPE
    raw = blob(d, desc["digest"])
    assert len(raw) == desc["size"]
    index = json.loads(raw)
    images = {}
    for m in index["manifests"]:
        assert m["mediaType"] == MANIFEST_TYPE
        images[m["platform"]["architecture"]] = manifest_read(d, m["digest"])
    return dict(digest=desc["digest"], raw=raw, index=index, images=images)


def test_release_image_is_one_index_of_both_platforms(release_image):
    idx = release_image["index"]
    assert idx["mediaType"] == INDEX_TYPE and idx["schemaVersion"] == 2
    assert [m["platform"] for m in idx["manifests"]] == [PLATFORM[a] for a in ARCHES]
    assert (OUT / "regcred.oci.digest").read_text().strip() == release_image["digest"]
    # canonical JSON: sorted keys, no white space (what makes the digest stable)
    assert release_image["raw"] == json.dumps(idx, sort_keys=True, separators=(",", ":")).encode()
    ann = idx["annotations"]
    labels = release_image["images"]["amd64"][1]["config"]["Labels"]
    assert ann == labels and all(k.startswith("org.opencontainers.image.") for k in ann)
    assert ann["org.opencontainers.image.revision"] == git("rev-parse", "HEAD")
    assert ann["org.opencontainers.image.version"] == (TOP / "VERSION").read_text().strip()


@pytest.mark.parametrize("arch", ARCHES)
def test_release_image_shape(release_image, arch):
    manifest, config, files = release_image["images"][arch]
    assert len(manifest["layers"]) == 1
    assert manifest["annotations"] == release_image["index"]["annotations"]
    assert config["architecture"] == arch and config["os"] == "linux"
    assert config.get("variant") == PLATFORM[arch].get("variant")
    assert config["config"]["Entrypoint"] == ["/regcred"]
    assert config["config"]["User"] == "65532:65532"
    assert list(files) == ["regcred"]
    data, mode, uid, gid = files["regcred"]
    assert data == binary(arch).read_bytes()
    assert (mode, uid, gid) == (0o755, 0, 0)
    assert (OUT / arch / "regcred.oci.digest").read_text().strip() == manifest["_digest"]


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


@pytest.mark.parametrize("arch", ARCHES)
def test_containerfile_matches_release_image(podman_dir, release_image, arch):
    """podman build --platform linux/ARCH of the Containerfile gives the
    release image's config and file for that platform; the host's runs."""
    tmp_path = podman_dir
    assert shutil.which("podman"), "podman is needed (./build.sh test installs it)"
    _, rconfig, rfiles = release_image["images"][arch]
    labels = rconfig["config"]["Labels"]
    podman(tmp_path, "build", "--timestamp", "0", "--platform", f"linux/{arch}",
           "-f", str(TOP / "Containerfile"),
           "--build-arg", "VERSION=" + labels["org.opencontainers.image.version"],
           "--build-arg", "REVISION=" + labels["org.opencontainers.image.revision"],
           "--build-arg", "CREATED=" + labels["org.opencontainers.image.created"],
           "-t", "localhost/regcred:test", str(TOP))
    out = tmp_path / "podman-oci"
    podman(tmp_path, "save", "--format", "oci-dir", "-o", str(out), "localhost/regcred:test")
    _, pconfig, pfiles = oci_dir_read(out)
    assert pconfig["architecture"] == arch and pconfig["os"] == "linux"
    assert pconfig["config"]["Entrypoint"] == rconfig["config"]["Entrypoint"]
    assert pconfig["config"]["User"] == rconfig["config"]["User"]
    plabels = {k: v for k, v in pconfig["config"].get("Labels", {}).items()
               if not k.startswith("io.buildah.")}
    assert plabels == labels
    assert list(pfiles) == ["regcred"]
    assert pfiles["regcred"][0] == rfiles["regcred"][0]
    if arch != HOST:
        return          # running it would need binfmt_misc (not relied on)
    # and it runs: the static binary needs nothing else in the image
    r = podman(tmp_path, "run", "--rm", "--network", "none", "--read-only",
               "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
               "localhost/regcred:test", "version")
    assert r.stdout.startswith("regcred " + labels["org.opencontainers.image.version"])
    assert f"\narch: {MACHINE[arch][0]}\n" in r.stdout


# --- the archive's name: regcred:VERSION ----------------------------------------

def test_index_names_the_image_and_only_the_image_index_sets_the_digest():
    """The layout's index.json names the one image index regcred:VERSION in
    both annotations loaders read; the digest build.sh prints is the image
    index's, which the name is not part of."""
    version = (TOP / "VERSION").read_text().strip()
    with tarfile.open(OUT / "regcred.oci.tar") as t:
        layout = json.loads(t.extractfile("index.json").read())
        [desc] = layout["manifests"]
        raw = t.extractfile("blobs/sha256/" + desc["digest"].split(":")[1]).read()
    assert desc["annotations"] == {"io.containerd.image.name": f"regcred:{version}",
                                   "org.opencontainers.image.ref.name": f"regcred:{version}"}
    assert desc["mediaType"] == INDEX_TYPE
    assert desc["digest"] == (OUT / "regcred.oci.digest").read_text().strip()
    assert b"regcred:" not in raw and b"ref.name" not in raw


def images(tmp, *fmt):
    r = podman(tmp, "images", "--format", "{{.Repository}}:{{.Tag}} {{.Digest}}")
    return r.stdout.split("\n")[:-1]


def image_arch(tmp, ref):
    r = podman(tmp, "image", "inspect", "--format", "{{.Architecture}} {{.RepoDigests}}", ref)
    return r.stdout.strip()


def test_podman_load_names_it_regcred_version(podman_dir):
    """podman load -i out/regcred.oci.tar gives localhost/regcred:VERSION
    (podman's spelling of a name without a registry; `regcred:VERSION`
    finds it), this machine's platform out of the index, under the index
    digest build.sh printed, and it runs."""
    version = (TOP / "VERSION").read_text().strip()
    digest = (OUT / "regcred.oci.digest").read_text().strip()
    own = (OUT / HOST / "regcred.oci.digest").read_text().strip()
    r = podman(podman_dir, "load", "-i", str(OUT / "regcred.oci.tar"))
    assert f"Loaded image: localhost/regcred:{version}" in r.stdout, r.stdout + r.stderr
    assert images(podman_dir) == [f"localhost/regcred:{version} {digest}"]
    arch = image_arch(podman_dir, f"regcred:{version}")
    assert arch.startswith(HOST + " ") and own in arch, arch
    r = podman(podman_dir, "run", "--rm", "--network", "none", "--read-only",
               "--cap-drop", "ALL", f"regcred:{version}", "version")
    assert r.stdout.startswith(f"regcred {version}"), r.stdout
    assert f"\narch: {MACHINE[HOST][0]}\n" in r.stdout
    # the image in the archive addressed by that name (containers/image, as
    # skopeo does), loaded afresh
    podman(podman_dir, "rmi", f"regcred:{version}")
    podman(podman_dir, "pull", f"oci-archive:{OUT / 'regcred.oci.tar'}:regcred:{version}")
    assert images(podman_dir) == [f"localhost/regcred:{version} {digest}"]


@pytest.mark.parametrize("arch", ARCHES)
def test_podman_pull_arch_takes_that_platform(podman_dir, arch):
    """podman pull --arch ARCH takes ARCH's image out of the index: its
    manifest digest, its architecture, its binary."""
    version = (TOP / "VERSION").read_text().strip()
    own = (OUT / arch / "regcred.oci.digest").read_text().strip()
    podman(podman_dir, "pull", "--arch", arch,
           f"oci-archive:{OUT / 'regcred.oci.tar'}:regcred:{version}")
    got = image_arch(podman_dir, f"regcred:{version}")
    assert got.startswith(arch + " ") and own in got, got
    out = podman_dir / "saved"
    podman(podman_dir, "save", "--format", "oci-dir", "-o", str(out), f"regcred:{version}")
    _, config, files = oci_dir_read(out)
    assert config["architecture"] == arch
    assert files["regcred"][0] == binary(arch).read_bytes()


def skopeo(*args):
    r = subprocess.run(["skopeo", *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_skopeo_finds_regcred_version_in_the_archive(tmp_path):
    """skopeo addresses the image index in the archive as regcred:VERSION,
    picks each platform with --override-arch, and copying the whole index
    (--all) keeps every digest (what pushing by digest relies on). Skipped
    without skopeo: podman's tests above select the image by the same name
    through the same library (containers/image)."""
    if not shutil.which("skopeo"):
        pytest.skip("skopeo is not installed (apt-get install skopeo)")
    version = (TOP / "VERSION").read_text().strip()
    digest = (OUT / "regcred.oci.digest").read_text().strip()
    src = f"oci-archive:{OUT / 'regcred.oci.tar'}:regcred:{version}"
    raw = skopeo("inspect", "--raw", src)
    assert "sha256:" + hashlib.sha256(raw.encode()).hexdigest() == digest
    assert json.loads(raw)["mediaType"] == INDEX_TYPE
    for arch in ARCHES:
        cfg = json.loads(skopeo("inspect", "--override-arch", arch, "--config", src))
        assert cfg["architecture"] == arch, cfg
        own = (OUT / arch / "regcred.oci.digest").read_text().strip()
        one = skopeo("inspect", "--override-arch", arch, "--raw", src)
        # --raw is the index; the platform's own manifest is in it
        assert own in one
    r = subprocess.run(["skopeo", "inspect", f"oci-archive:{OUT / 'regcred.oci.tar'}:0.0.0-other"],
                       capture_output=True, text=True)
    assert r.returncode != 0                          # a name that is not there
    # README's push, to a local layout instead of a registry
    dest, pushed = tmp_path / "copy", tmp_path / "pushed.digest"
    skopeo("copy", "--all", "--preserve-digests", "--digestfile", str(pushed),
           src, f"oci:{dest}:regcred:{version}")
    assert pushed.read_text().strip() == digest
    index = json.loads((dest / "index.json").read_text())
    assert [m["digest"] for m in index["manifests"]] == [digest]
    # one platform alone, as a registry mirror for one node pool would
    one, onedig = tmp_path / "one", tmp_path / "one.digest"
    skopeo("copy", "--override-arch", "arm64", "--preserve-digests", "--digestfile",
           str(onedig), src, f"oci:{one}:regcred:{version}")
    assert onedig.read_text().strip() == (OUT / "arm64/regcred.oci.digest").read_text().strip()


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
