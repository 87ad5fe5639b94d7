# Two commands: `make demo` (the main job on the embedded default data) and
# `make test` (the test suite). Both create .venv on first use.
PYTHON3 ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
# This machine's pip takes these two from local disk; a CPU-only torch wheel
# has no torchvision that imports beside it.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
# mmcv-lite on CPU; on GPU machines install full mmcv with `mim install mmcv`.
MMCV_SPEC ?= mmcv-lite>=2.0.0,<2.3.0
STAMP := $(VENV)/.mmfer4d-installed
PYTEST_ARGS ?=

.PHONY: venv test demo demo-4d demo-full clean-venv

venv: $(STAMP)

$(STAMP): setup.py requirements/runtime.txt requirements/tests.txt
	@test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH_SPEC)
	$(PIP) install --quiet -e ".[tests]" "$(MMCV_SPEC)"
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests $(PYTEST_ARGS)

demo: $(STAMP)
	$(PY) tools/demo.py

clean-venv:
	rm -rf $(VENV)
