# The two commands the README promises: `make repro` and `make test` (each sets up first).
# Set-up installs exactly the versions pinned in requirements.lock (`make lock` regenerates it
# from pyproject.toml), with uv (taken from PATH, else installed from PyPI into .tools/uv),
# or with plain pip: `make setup INSTALLER=pip`. pip runs with --no-compile, as uv does by default:
# Python compiles each module on its first import instead of pip compiling all of TensorFlow
# (Python 3.13 here: 87 s -> 43 s; the first import of the whole stack then takes 10 s more, once).

# Python: PY=/path/to/python, or the first of PY_CANDIDATES that runs and is a supported
# version (a pyenv shim for a version that is not active fails to run, and is skipped).
SUPPORTED := 3.11 3.12 3.13
PY_CANDIDATES ?= python3.11 python3.12 python3.13 python3 python $(sort $(wildcard $(HOME)/.pyenv/versions/3.1[123].*/bin/python3))
PYVER := import sys; print("%d.%d" % sys.version_info[:2])
PYPROBE := import sys; print("%d.%d" % sys.version_info[:2], sys.executable)
ifeq ($(origin PY),undefined)
# found once, and only when a target needs it; the interpreter's own path (not a shim's)
PY = $(eval PY := $(shell for p in $(PY_CANDIDATES); do set -- $$($$p -c '$(PYPROBE)' 2>/dev/null); \
       for s in $(SUPPORTED); do [ "$$1" = "$$s" ] && { echo "$$2"; exit 0; }; done; done))$(PY)
endif
PY_VERSION = $(eval PY_VERSION := $(shell $(PY) -c '$(PYVER)' 2>/dev/null))$(PY_VERSION)
comma := ,
SUPPORTED_LIST := $(subst $() ,$(comma) ,$(SUPPORTED))
# First line of every recipe that needs an interpreter (an error stops even `make -n`).
define need_python
$(if $(PY),,$(error no supported Python found: digits needs Python $(SUPPORTED_LIST), and none of [$(PY_CANDIDATES)] runs as one; install one, or set PY=/path/to/python3.X))$(if $(filter $(PY_VERSION),$(SUPPORTED)),,$(error PY=$(PY) is $(if $(PY_VERSION),Python $(PY_VERSION),not a working Python); digits supports Python $(SUPPORTED_LIST)))
endef

VENV ?= .venv
BIN := $(VENV)/bin
# Python caches the bytecode of what it imports (in .venv's __pycache__), even where the
# environment says not to (PYTHONDONTWRITEBYTECODE=1, a common container default): else every
# test, stage and dvc process compiles TensorFlow's, DVC's and Keras's modules anew. On a fresh
# clone here, `make test` took 170 s with it set, 104 s without.
unexport PYTHONDONTWRITEBYTECODE
INSTALLER ?= uv
UV_VERSION := 0.13.9
TOOLS := .tools
# uv runs the interpreter chosen here (or, for `make lock`, none): it never downloads one
export UV_PYTHON_DOWNLOADS ?= never
ifeq ($(origin UV),undefined)
UV := $(or $(shell command -v uv 2>/dev/null),$(TOOLS)/uv/bin/uv)
endif
# GPU=1: Linux x86-64 with an NVIDIA GPU, tensorflow[and-cuda] instead of tensorflow-cpu (same
# version, one build at a time). The choice sticks to the venv until GPU=0.
GPU ?= $(if $(wildcard $(VENV)/.installed-requirements-gpu),1,0)
LOCK := $(if $(filter 1,$(GPU)),requirements-gpu.lock,requirements.lock)
STAMP := $(VENV)/.installed-$(basename $(LOCK))
LOCK_OPTS := --universal --python-version 3.11 --extra test --generate-hashes --quiet --custom-compile-command 'make lock'

.PHONY: setup test test-slow test-all repro plots lock clean-venv

$(STAMP): pyproject.toml $(LOCK) | $(if $(filter uv,$(INSTALLER)),$(UV))
	$(need_python)$(if $(filter uv pip,$(INSTALLER)),,$(error INSTALLER=$(INSTALLER): uv or pip))
	@[ "$(GPU)" != 1 ] || [ "$$(uname -sm)" = "Linux x86_64" ] || { echo "error: GPU=1 is for Linux x86-64 with an NVIDIA GPU; here ($$(uname -sm)) use plain make setup"; exit 1; }
	@echo "setup: Python $(PY_VERSION) ($(PY)), $(INSTALLER), $(LOCK) -> $(VENV)"
ifeq ($(INSTALLER),pip)
	rm -rf $(VENV)
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-compile --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
else
	@[ "$$($(BIN)/python -c '$(PYVER)' 2>/dev/null)" = "$(PY_VERSION)" ] || { rm -rf $(VENV) && $(UV) venv --quiet --seed --python $(PY) $(VENV); }
	$(UV) pip sync --quiet --python $(BIN)/python --require-hashes $(LOCK)
	$(UV) pip install --quiet --python $(BIN)/python --no-deps --no-build-isolation -e .
endif
	@rm -f $(VENV)/.installed-* && echo "$(LOCK) $(INSTALLER) Python $(PY_VERSION)" > $@

setup: $(STAMP)

# uv from PyPI (a static binary in a wheel) when none is on PATH: with the interpreter's pip,
# else with the pip of a throw-away venv (Debian's python3 has no pip of its own)
$(TOOLS)/uv/bin/uv:
	$(need_python)
	$(PY) -m pip install --quiet --target $(TOOLS)/uv uv==$(UV_VERSION) 2>/dev/null || \
	  { rm -rf $(TOOLS)/uv $(TOOLS)/pip && $(PY) -m venv $(TOOLS)/pip && $(TOOLS)/pip/bin/python -m pip install --quiet --target $(TOOLS)/uv uv==$(UV_VERSION); } || \
	  { echo "error: could not install uv from PyPI; 'make setup INSTALLER=pip' sets up with plain pip"; exit 1; }

# Regenerate both locks from pyproject.toml, keeping every pin that still fits
# (LOCK_ARGS=--upgrade, or --upgrade-package keras, to move them).
lock: | $(UV)
	$(UV) pip compile pyproject.toml $(LOCK_OPTS) -o requirements.lock $(LOCK_ARGS)
	@mkdir -p $(TOOLS) && tf=$$(sed -n 's/^tensorflow-cpu==\([^ ;]*\).*/\1/p' requirements.lock) && \
	  printf '%s\n' "tensorflow-cpu; sys_platform == 'never'" \
	    "tensorflow[and-cuda]==$$tf; sys_platform == 'linux' and platform_machine == 'x86_64'" > $(TOOLS)/gpu-overrides.txt
	$(UV) pip compile pyproject.toml $(LOCK_OPTS) --override $(TOOLS)/gpu-overrides.txt -c requirements.lock -o requirements-gpu.lock $(LOCK_ARGS)

# `make test`: everything but the tests marked slow (the pipeline run through DVC on a slice,
# the training benchmark), which `make test-slow` runs; `make test-all` runs both in one go.
# Over all cores: the quick tests spread test by test (idle workers take over queued ones:
# 102 s against 128 s file by file, measured back to back), the slow ones file by file, so
# the pipeline tests build their small project once.
PYTEST := $(BIN)/python -m pytest -q -n auto
test: setup
	$(PYTEST) --dist worksteal -m "not slow"

test-slow: setup
	$(PYTEST) --dist loadfile -m slow

test-all: setup
	$(PYTEST) --dist loadfile

# The benchmark stages read the development sets beside the clone (dvc.yaml): say so before
# training, not after it (a fresh clone without them stopped at `wild`, 11 min in).
DEV_SETS := ../shared/data/real-digits/labels.csv ../shared/data/real-numbers/labels.csv
repro: setup
	@[ -d .git ] || { echo "error: run inside the git clone (DVC needs it)"; exit 1; }
	@for f in $(DEV_SETS); do [ -f "$$f" ] || { echo "error: $$f is missing: the wild and numbers_bench stages read the development sets from ../shared/data beside the clone (README: The two commands)"; exit 1; }; done
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc status

# dvc_plots/index.html with Vega served from a local file: draws without internet
plots: setup
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/digits plots show

clean-venv:
	rm -rf $(VENV)
