# multus-ts front door. Every target puts the project-local Node.js 24 and pnpm (.tools/bin) first on PATH.
SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/node_modules/.bin:$(PATH)
DEPS_STAMP := node_modules/.deps-stamp

.PHONY: all deps build build-ts build-shim lint typecheck test test-unit test-e2e fuzz bench demo image clean apiserver

all: build

$(DEPS_STAMP): scripts/deps.sh package.json pnpm-lock.yaml packages/*/package.json
	./scripts/deps.sh
	@touch $@

deps:
	./scripts/deps.sh
	@touch $(DEPS_STAMP)

build: $(DEPS_STAMP) build-ts build-shim

build-ts: $(DEPS_STAMP)
	node scripts/build.ts

build-shim: $(DEPS_STAMP)
	$(MAKE) -C packages/shim

fuzz: $(DEPS_STAMP)
	$(MAKE) -C packages/shim fuzz

lint: $(DEPS_STAMP)
	biome check .

typecheck: $(DEPS_STAMP)
	tsc -p tsconfig.json

# A real kube-apiserver (Debian's kubernetes 1.20 source package), built once into a cache outside the repo
# (MULTUS_TS_APISERVER_CACHE, default /var/cache/multus-ts/kube-apiserver) and reused: ~4-7 min the first time,
# instant after. The daemon e2e suite and test/support/apiserver run against it (test/support/apiserver/README.md).
apiserver: $(DEPS_STAMP)
	./test/support/apiserver/build.sh

test-unit: $(DEPS_STAMP)
	vitest run --project unit

test-e2e: build apiserver
	vitest run --project e2e

test: deps build lint typecheck apiserver
	$(MAKE) -C packages/shim fuzz
	vitest run

bench: build
	node test/bench/run.ts --update-readme
	@# the table is written plainly; the formatter lays it out as the linter expects
	biome format --write README.md >/dev/null

demo: build
	node scripts/demo.ts

# The container image (images/Dockerfile) with the first engine that works: docker, podman or buildah. Where none
# does (no engine installed, or a docker client without a daemon) it says so and succeeds, so `make` on a
# build-only machine is not an error. IMAGE=registry.example.com/multus-ts:dev make image for your own registry.
IMAGE ?= ghcr.io/multus-ts/multus-ts:latest
IMAGE_ENGINES ?= docker podman buildah
image:
	@engine=; for e in $(IMAGE_ENGINES); do \
	  if command -v $$e >/dev/null 2>&1 && timeout 20 $$e info >/dev/null 2>&1; then engine=$$e; break; fi; \
	done; \
	if [ -z "$$engine" ]; then \
	  echo "make image: no working container engine (tried: $(IMAGE_ENGINES)); $(IMAGE) was NOT built."; \
	  echo "make image: install or start one (e.g. the docker daemon), then run make image again."; \
	  exit 0; \
	fi; \
	if [ "$$engine" = buildah ]; then build="buildah bud"; else build="$$engine build"; fi; \
	version=$$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' packages/daemon/package.json); \
	revision=$$(git rev-parse --short HEAD 2>/dev/null || echo unknown); \
	echo "make image: $$build -f images/Dockerfile -t $(IMAGE) ."; \
	$$build -f images/Dockerfile -t $(IMAGE) --build-arg VERSION=$$version --build-arg REVISION=$$revision .

# The reliability suite's long run (test/e2e/reliability with RELIABILITY_SOAK=1): 10^5 fuzzed request bodies,
# six kill -9 rounds of 100 pods, 200 ADD/DEL races; see docs/reliability.md. FUZZ_SEED=<n> replays a fuzz run.
.PHONY: soak
soak: build
	RELIABILITY_SOAK=1 vitest run --project e2e test/e2e/reliability

clean:
	rm -rf packages/*/dist
	$(MAKE) -C packages/shim clean
