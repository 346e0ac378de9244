# Unfragile: `make run` runs the engine on the bundled data, `make test` runs the tests.
VENV    := .venv
BIN     := $(VENV)/bin
PYTHON  ?= python3
UV_VERSION := 0.13.9
# mypy's cache outside the checkout, so CI's fresh clone checks in seconds, not 3 CPU-minutes
# (mypy re-checks any file whose contents changed, so a shared cache is safe).
MYPY_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/unfragile/mypy
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run demo test lint bench clean stop constraints

setup: $(VENV)/.installed

# uv installs the pinned set: it downloads in parallel and keeps unpacked wheels in ~/.cache/uv,
# so a fresh clone sets up in well under a minute once the cache is warm (pip: 5–10 minutes, as
# it re-downloads the 4 GB CUDA build of torch every time on this machine).
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv==$(UV_VERSION)
	$(BIN)/uv pip install --python $(BIN)/python --quiet -c constraints.txt -e '.[dev,render,spark]'
	touch $@

## constraints: re-pin constraints.txt from a fresh install of the current pyproject.toml
constraints:
	rm -rf /tmp/unfragile-pin && $(PYTHON) -m venv /tmp/unfragile-pin
	/tmp/unfragile-pin/bin/pip install --quiet -e '.[dev,render,spark]'
	{ head -2 constraints.txt; /tmp/unfragile-pin/bin/pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt

## run: start Neo4j, load the bundled catalog and events, index, rank; print counts, a search
## and the vit-base-patch16-224 vs flux-1-pro comparison page
run: setup
	$(BIN)/unfragile db start
	$(BIN)/unfragile ingest data/catalog
	$(BIN)/unfragile index
	$(BIN)/unfragile rank
	$(BIN)/unfragile stats
	$(BIN)/unfragile search "open source alternative to midjourney" --top-k 3
	$(BIN)/unfragile compare vit-base-patch16-224 flux-1-pro

## demo: set up, start Neo4j, load the bundled catalog and events, index, rank, then serve the
## API and web page at http://127.0.0.1:8000 (Ctrl-C stops the server; `make stop` stops Neo4j)
demo: setup
	$(BIN)/unfragile demo

## test: set up, start a throwaway Neo4j, run pytest against it, stop it
test: setup
	scripts/test.sh $(PYTEST_ARGS)

## lint: ruff check, ruff format --check and mypy (the same hooks as .pre-commit-config.yaml)
lint: setup
	$(BIN)/ruff check engine graph indexing api tests bench
	$(BIN)/ruff format --check engine graph indexing api tests bench
	$(BIN)/mypy --cache-dir $(MYPY_CACHE) engine graph indexing api

bench: setup
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/encode_text.py
	$(BIN)/python bench/encode_images.py
	$(BIN)/python bench/vector_search.py
	$(BIN)/python bench/neo4j_vectors.py
	$(BIN)/python bench/search_quality.py
	$(BIN)/python bench/search_latency.py
	$(BIN)/python bench/rank.py

stop:
	-$(BIN)/unfragile db stop

clean: stop
	rm -rf $(VENV) .unfragile *.egg-info
