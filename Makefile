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

.PHONY: venv test demo demo-intensities demo-ssl demo-baseline demo-4d \
	demo-mer demo-extra demo-full demo-mf2 clean-venv

venv: $(STAMP)

$(STAMP): setup.py requirements/runtime.txt requirements/tests.txt
	@test -x $(PY) || $(PYTHON3) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH_SPEC)
	$(PIP) install --quiet -e ".[tests]" "$(MMCV_SPEC)"
	@touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest tests $(PYTEST_ARGS)

# The main job: SMILE-VLM (tiny config) on SyntheticFER3D, zero-shot and
# linear probe (about 3.5-4 min on a 2-core CPU with native bfloat16). Every
# demo target writes into $(DEMO_DIR) and reprints one table with every run
# done so far.
DEMO_DIR ?= work_dirs/demo
DEMO_ARGS ?=

demo: $(STAMP)
	$(PY) tools/demo.py --what main --work-dir $(DEMO_DIR) $(DEMO_ARGS)

# All four intensity levels; accuracy per level.
demo-intensities: $(STAMP)
	$(PY) tools/demo.py --what intensities --work-dir $(DEMO_DIR) $(DEMO_ARGS)

# Self-supervised (landmark pseudo-labels, no expression label): clustering,
# NMI, k-NN, linear probe; zero-shot n/a with the random-init text tower.
demo-ssl: $(STAMP)
	$(PY) tools/demo.py --what ssl --work-dir $(DEMO_DIR) $(DEMO_ARGS)

# Same backbone and views trained with cross-entropy only.
demo-baseline: $(STAMP)
	$(PY) tools/demo.py --what baseline --work-dir $(DEMO_DIR) $(DEMO_ARGS)

# SyntheticFER4D sequences: SampleFrames + temporal fusion.
demo-4d: $(STAMP)
	$(PY) tools/demo.py --what 4d --work-dir $(DEMO_DIR) $(DEMO_ARGS)

# SyntheticMER4D micro-expressions: 5 subject-independent folds, UF1 and
# UAR pooled over folds (mmfer4d/apis/demo_mer.py).
demo-mer: $(STAMP)
	$(PY) -m mmfer4d.apis.demo_mer --work-dir $(DEMO_DIR)/smile-vlm-mer

# The four above in one go (about four times the time of `make demo`).
demo-extra: $(STAMP)
	$(PY) tools/demo.py --what intensities ssl baseline 4d \
		--work-dir $(DEMO_DIR) $(DEMO_ARGS)

# MF²: pre-training, AU detection + emotion, DFN transfer (about 20 min).
demo-mf2: $(STAMP)
	$(PY) -m mmfer4d.apis.demo_mf2 --work-dir $(DEMO_DIR) $(DEMO_ARGS)

# Real-size configs, 10-fold cross-validation: for a machine with a GPU.
demo-full: $(STAMP)
	$(PY) tools/demo.py --what main --full --work-dir work_dirs/demo-full \
		$(DEMO_ARGS)

clean-venv:
	rm -rf $(VENV)
