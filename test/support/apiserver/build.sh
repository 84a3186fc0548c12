#!/usr/bin/env bash
# Builds a real kube-apiserver (v1.20.2) from Debian bookworm's own `kubernetes` source package, once, into a
# cache directory outside the repository; later runs reuse it (and its Go build cache) without touching the
# network. Called by `make apiserver`. Every failure names the step that failed.
#
#   MULTUS_TS_APISERVER_CACHE   cache directory (default /var/cache/multus-ts/kube-apiserver)
#
# Layout of the cache:
#   bin/kube-apiserver, bin/stamp   the result and what it was built from (reused while the stamp matches)
#   apt/                            a private apt configuration with bookworm's deb-src entry (/etc/apt untouched)
#   src/                            the .dsc, orig tarball and Debian diff; src/k8s the unpacked, patched tree
#   go-cache/                       the Go build cache (~1.2 GB), kept across rebuilds and re-extractions
#   build.log                       the output of the last build
#
# Why it is built this way (test/support/apiserver/README.md has the details):
#   - upstream's `make WHAT=cmd/kube-apiserver` in GOPATH mode, as the package's debian/rules does: it generates
#     pkg/generated/openapi/zz_generated.openapi.go, which the tarball lacks;
#   - the vendored github.com/modern-go/reflect2 v1.0.1 crashes under Go >= 1.18 (SIGSEGV in
#     reflect.mapiterinit on the first CRD); Debian's golang-github-modern-go-reflect2-dev 1.0.2 replaces it.
set -euo pipefail

CACHE="${MULTUS_TS_APISERVER_CACHE:-/var/cache/multus-ts/kube-apiserver}"
BIN="$CACHE/bin/kube-apiserver"
STAMP="$CACHE/bin/stamp"
SRC="$CACHE/src"
TREE="$SRC/k8s"
LOG="$CACHE/build.log"
REFLECT2_PKG=golang-github-modern-go-reflect2-dev
REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2
MIN_FREE_MB=4096

STEP=start
REPORTED=
fail() {
  echo "apiserver: FAILED at step '$STEP': $*" >&2
  REPORTED=1
  exit 1
}
# Anything that fails without fail() (set -e) still names its step.
trap 'rc=$?; [ "$rc" -eq 0 ] || [ -n "$REPORTED" ] || echo "apiserver: FAILED at step '"'"'$STEP'"'"' (exit $rc)" >&2' EXIT
step() {
  STEP="$1"
  echo "apiserver: $1"
}

STEP='check tools'
for tool in go make rsync dpkg-source apt-get etcd openssl flock; do
  command -v "$tool" >/dev/null 2>&1 ||
    fail "'$tool' is not installed: run scripts/deps.sh (make deps), which installs golang-go, etcd-server, dpkg-dev, rsync, openssl and $REFLECT2_PKG"
done
reflect2_version=$(dpkg-query -W -f='${Version}' "$REFLECT2_PKG" 2>/dev/null || true)
[ -n "$reflect2_version" ] && [ -f "$REFLECT2_SRC/reflect2.go" ] ||
  fail "$REFLECT2_PKG is not installed (its $REFLECT2_SRC replaces the vendored copy): run scripts/deps.sh"
go_version=$(GOFLAGS='' go version | awk '{print $3}')

mkdir -p "$CACHE/bin" || fail "cannot create $CACHE"
# One build at a time (two `make` runs in parallel would unpack into the same tree).
exec 9>"$CACHE/.lock"
flock 9

# The stamp names the toolchain and the reflect2 replacement: a Go or reflect2 upgrade rebuilds, anything else
# reuses. The source version is whatever was fetched first; remove the cache directory to fetch a newer one.
want="go=$go_version reflect2=$reflect2_version"
if [ -x "$BIN" ] && [ -f "$STAMP" ] && grep -qxF "$want" <(sed -n 2p "$STAMP"); then
  echo "apiserver: reusing $BIN ($(sed -n 1p "$STAMP"), $want)"
  exit 0
fi

free_mb=$(df -Pm "$CACHE" | awk 'NR==2 {print $4}')
[ "$free_mb" -ge "$MIN_FREE_MB" ] || { STEP='check disk'; fail "only ${free_mb} MB free under $CACHE, the build needs ~${MIN_FREE_MB} MB"; }

step 'fetch the kubernetes source package (private apt config with a deb-src entry for bookworm main)'
mkdir -p "$CACHE/apt/lists/partial" "$SRC"
cat >"$CACHE/apt/sources.list" <<'EOF'
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
EOF
apt_opts=(
  -o "Dir::Etc::SourceList=$CACHE/apt/sources.list"
  -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$CACHE/apt/lists"
  -o Debug::NoLocking=1
  -o APT::Sandbox::User=root
)
dsc=$(find "$SRC" -maxdepth 1 -name 'kubernetes_*.dsc' | sort | tail -n 1)
if [ -z "$dsc" ]; then
  apt-get -q "${apt_opts[@]}" update >"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; fail "apt-get update (deb-src bookworm main)"; }
  (cd "$SRC" && apt-get -q "${apt_opts[@]}" source --download-only kubernetes) >>"$LOG" 2>&1 ||
    { tail -n 20 "$LOG" >&2; fail "apt-get source --download-only kubernetes"; }
  dsc=$(find "$SRC" -maxdepth 1 -name 'kubernetes_*.dsc' | sort | tail -n 1)
  [ -n "$dsc" ] || fail "apt-get source left no kubernetes_*.dsc in $SRC"
fi
src_version=$(sed -n 's/^Version: //p' "$dsc")

step "unpack kubernetes $src_version with Debian's patches (dpkg-source -x)"
if [ ! -f "$TREE/.multus-ts-version" ] || [ "$(cat "$TREE/.multus-ts-version")" != "$src_version" ]; then
  rm -rf "$TREE" "$TREE.tmp"
  # apt already checked these files against the archive's signed Sources index; the .dsc's own (maintainer)
  # signature would need debian-keyring, which nothing else here needs.
  dpkg-source --no-check -x "$dsc" "$TREE.tmp" >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; fail "dpkg-source -x $dsc"; }
  echo "$src_version" >"$TREE.tmp/.multus-ts-version"
  mv "$TREE.tmp" "$TREE"
fi

step "replace the vendored github.com/modern-go/reflect2 with $REFLECT2_PKG $reflect2_version"
vendored="$TREE/vendor/github.com/modern-go/reflect2"
[ -d "$vendored" ] || fail "$vendored is missing from the source tree"
rm -rf "$vendored"
mkdir -p "$vendored"
cp "$REFLECT2_SRC"/*.go "$REFLECT2_SRC"/*.s "$vendored/"

step "build cmd/kube-apiserver ($go_version, GOPATH mode, CGO_ENABLED=0, GOPROXY=off; log: $LOG)"
# The build puts its Go cache under _output/local/go/cache: point that at the cache directory's go-cache so a
# re-extracted tree still builds warm.
mkdir -p "$CACHE/go-cache" "$TREE/_output/local/go"
if [ ! -L "$TREE/_output/local/go/cache" ]; then
  rm -rf "$TREE/_output/local/go/cache"
  ln -s "$CACHE/go-cache" "$TREE/_output/local/go/cache"
fi
# A generator interrupted mid-link leaves an empty, non-executable file that later runs would try to execute.
find "$TREE/_output/bin" -maxdepth 1 -type f -empty -delete 2>/dev/null || true
mkdir -p "$CACHE/home"
started=$(date +%s)
if ! (cd "$TREE" && env -u GOFLAGS -u GOPATH -u GOROOT HOME="$CACHE/home" CGO_ENABLED=0 GOPROXY=off \
  GO111MODULE=off make WHAT=cmd/kube-apiserver) >>"$LOG" 2>&1; then
  tail -n 40 "$LOG" >&2
  fail "make WHAT=cmd/kube-apiserver (full output in $LOG)"
fi
echo "apiserver: built in $(($(date +%s) - started)) s"

step 'check the binary'
built="$TREE/_output/bin/kube-apiserver"
[ -x "$built" ] || fail "the build produced no $built"
version=$("$built" --version 2>&1) || fail "$built --version: $version"
[[ "$version" == "Kubernetes v1.20."* ]] || fail "unexpected version: $version"
cp "$built" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
printf '%s\n%s\n' "kubernetes=$src_version ($version)" "$want" >"$STAMP"
STEP=done
echo "apiserver: $BIN ready ($version)"
