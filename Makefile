# multus-ts front door. Every target puts the project-local Node.js 24 and pnpm (.tools/bin) first on PATH.
SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/node_modules/.bin:$(PATH)
DEPS_STAMP := node_modules/.deps-stamp

.PHONY: all deps build build-ts build-shim lint typecheck test test-unit test-e2e fuzz bench demo clean

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

test-unit: $(DEPS_STAMP)
	vitest run --project unit

test-e2e: build
	vitest run --project e2e

test: deps build lint typecheck
	$(MAKE) -C packages/shim fuzz
	vitest run

bench: build
	node test/bench/run.ts

demo: build
	@echo "make demo arrives with the 'Install and first run' issue; see README.md" >&2; exit 1

clean:
	rm -rf packages/*/dist
	$(MAKE) -C packages/shim clean
