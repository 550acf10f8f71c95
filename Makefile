# Set-up and everyday commands. Both `demo` and `test` create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
# The CPU build of PyTorch. Installing it first keeps pip from pulling a CUDA build.
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test venv venv-dev clean

venv: $(VENV)/.installed
venv-dev: $(VENV)/.installed-dev

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install "$(TORCH_SPEC)"
	$(PIP) install -e .
	touch $@

# torch-scatter and torch-cluster compile against the installed torch, so
# they are built without build isolation; pip caches the wheels afterwards.
$(VENV)/.installed-dev: $(VENV)/.installed
	$(PIP) install -e ".[dev]"
	$(PIP) install --no-build-isolation -e ".[accel]"
	touch $@

demo: venv
	$(PY) -m pflow_geo demo

test: venv-dev
	$(PY) -m pytest

clean:
	rm -rf $(VENV) build *.egg-info
