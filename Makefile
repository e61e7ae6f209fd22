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
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(BIN)/mercato dev

test: lint
	@$(BIN)/python -m pytest -q

unit: $(STAMP)
	@$(BIN)/python -m pytest -q tests/unit

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

bench: $(STAMP)
	@$(BIN)/python -m bench.run

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

# Build the container image (needs a Docker engine; CI builds and pushes with docker/build-push-action).
IMAGE   ?= mercato
VERSION ?= $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)
image:
	docker build --build-arg VERSION=$(VERSION) -t $(IMAGE):$(VERSION) .
