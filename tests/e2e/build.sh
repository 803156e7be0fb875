#!/bin/sh
# tests/e2e/build.sh -- build (or find in the cache) the control plane the e2e
# tests run: kube-apiserver and kubectl (k8s.io/kubernetes, pinned in
# controlplane/go.mod) and etcd (go.etcd.io/etcd/server/v3). Prints their
# paths, one per line:
#   KUBE_APISERVER=/path
#   ETCD=/path
#   KUBECTL=/path
#
#   tests/e2e/build.sh          build if not cached, print the paths
#   tests/e2e/build.sh --check  print the paths if cached, else exit 1 (no build)
#
# The binaries are cached in $REGCRED_E2E_CACHE (default
# $HOME/.cache/regcred-e2e), keyed by a hash of go.mod, go.sum, the sources,
# this script and the Go version. Go's own module and build caches
# (GOMODCACHE, GOCACHE) make a rebuild after a small change quick.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CP=$HERE/controlplane
PATH=$PATH:/usr/local/go/bin
export PATH
command -v go >/dev/null || { echo "e2e/build.sh: no go toolchain (looked in PATH and /usr/local/go/bin)" >&2; exit 1; }
CACHE=${REGCRED_E2E_CACHE:-$HOME/.cache/regcred-e2e}
key=$(cd "$CP" && { cat go.mod go.sum kube-apiserver/main.go etcd/main.go kubectl/main.go "$HERE/build.sh"; go version; } |
	sha256sum | cut -c1-16)
dir=$CACHE/$key
print_paths() {
	echo "KUBE_APISERVER=$dir/kube-apiserver"
	echo "ETCD=$dir/etcd"
	echo "KUBECTL=$dir/kubectl"
}
if [ -x "$dir/kube-apiserver" ] && [ -x "$dir/etcd" ] && [ -x "$dir/kubectl" ]; then
	print_paths
	exit 0
fi
if [ "${1:-}" = "--check" ]; then
	echo "e2e/build.sh: control plane not built for key $key (run tests/e2e/build.sh)" >&2
	exit 1
fi
echo "e2e/build.sh: building kube-apiserver and etcd into $dir (a cold build takes a while)" >&2
tmp=$CACHE/.tmp-$key-$$
rm -rf "$tmp"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
start=$(date +%s)
# Stamp the version as kubernetes' hack/lib/version.sh does (else /version
# says v0.0.0-master).
kver=$(cd "$CP" && GOFLAGS=-mod=readonly go list -m -f '{{.Version}}' k8s.io/kubernetes)
kmaj=$(echo "$kver" | sed 's/^v\([0-9]*\)\..*/\1/')
kmin=$(echo "$kver" | sed 's/^v[0-9]*\.\([0-9]*\)\..*/\1/')
ld="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
	ld="$ld -X $pkg.gitVersion=$kver -X $pkg.gitMajor=$kmaj -X $pkg.gitMinor=$kmin"
	ld="$ld -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
done
(cd "$CP" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" go build -trimpath -ldflags="$ld" \
	-o "$tmp/" ./kube-apiserver ./etcd ./kubectl)
"$tmp/kube-apiserver" --version >&2
"$tmp/etcd" --version | head -n1 >&2
"$tmp/kubectl" version --client >&2
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
echo "e2e/build.sh: built in $(($(date +%s) - start)) s" >&2
print_paths
