PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install test lint run bench screenshots proof clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	touch $(STAMP)

install: $(STAMP)

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

# ruff (style and likely bugs), mypy (types) and the import-linter contracts (layers), all
# configured in pyproject.toml
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

run: install
	rm -rf .demo
	$(BIN)/python -m migrate_tui.demo .demo --damaged
	$(BIN)/migrate-tui .demo

bench: install
	$(BIN)/python -m benchmarks.run

screenshots: install
	$(BIN)/python -m scripts.screenshots screenshots

proof: install
	PROOF=long $(BIN)/python -m pytest -q -p no:cacheprovider tests/proof

clean:
	rm -rf $(VENV) .demo build *.egg-info

# The OpenClaw target against the real OpenClaw (Node 24 and openclaw from the npm
# registry, about 650 MB in .interop/); not part of `make test`.
.PHONY: interop
interop: install
	sh scripts/interop/install.sh
	$(BIN)/python scripts/interop/run.py
