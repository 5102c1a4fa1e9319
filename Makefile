# Build/CI entry points. Every target is idempotent: a second `make setup` installs nothing.
#   make setup       .venv + pip install -r requirements.txt (re-run only when requirements.txt changes)
#   make data        Fashion-MNIST: Debian package dataset-fashion-mnist, else tfds
#   make demo        WGAN-GP on Fashion-MNIST for $(DEMO_STEPS) steps into runs/demo
#   make test        pytest + the fast Bazel targets (the data is installed when possible; tests do not need it)
#   make pytest      pytest only
#   make bazel-test  bazel test //:fast_tests offline with the .venv interpreter
#   make golden-spread  the golden tests under oneDNN on/off x 1/2 threads; margins table (tests/goldens/train_step)
#   make whole-run-studies  the suite's side of every whole-run study (>= 8 seeds, hours of CPU) against the
#                    recorded official runs (papers/results/whole_run_*.json); STUDY_WORKDIR holds the runs
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
VENV_PY := $(VENV)/bin/python3
STAMP := $(VENV)/.installed
DEMO_STEPS ?= 500
FMNIST_DIR := /usr/share/datasets/fashion-mnist
FMNIST := $(FMNIST_DIR)/train-images-idx3-ubyte.gz
BAZEL ?= bazel
BAZEL_TARGETS ?= //:fast_tests
# How to call apt-get: as root directly, else through passwordless sudo, else empty (not usable).
APT_GET := $(shell command -v apt-get >/dev/null 2>&1 && \
  { if [ "$$(id -u)" = 0 ]; then echo apt-get; elif sudo -n true 2>/dev/null; then echo "sudo -n apt-get"; fi; })
# What `make data` does when neither the file nor apt-get is there: tfds (default) or none.
DATA_FALLBACK ?= tfds

export PIP_DISABLE_PIP_VERSION_CHECK := 1
export DEBIAN_FRONTEND := noninteractive

.PHONY: setup data demo test pytest bazel-test clean-bazel golden-spread whole-run-studies

setup: $(STAMP)

$(VENV_PY):
	@test -n "$(PYTHON)" || { echo "error: neither python3.11 nor python3 found on PATH" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# The stamp is newer than requirements.txt once everything is installed; the venv itself is only an
# order-only prerequisite so that pip touching .venv/bin does not trigger a reinstall.
$(STAMP): requirements.txt | $(VENV_PY)
	$(VENV_PY) -m pip install -r requirements.txt
	touch $@

TEST_STAMP := $(VENV)/.installed-test
$(TEST_STAMP): requirements-test.txt $(STAMP)
	$(VENV_PY) -m pip install -r requirements-test.txt
	touch $@

# apt_install PACKAGES: install with apt-get, running `apt-get update` first only if needed.
define apt_install
$(APT_GET) install -y --no-install-recommends $(1) || { $(APT_GET) update && $(APT_GET) install -y --no-install-recommends $(1); }
endef

data:
	@if [ -f "$(FMNIST)" ]; then \
	  echo "Fashion-MNIST: $(FMNIST_DIR) is present."; \
	elif [ -n "$(APT_GET)" ] && { $(call apt_install,dataset-fashion-mnist); } && [ -f "$(FMNIST)" ]; then \
	  echo "Fashion-MNIST: installed dataset-fashion-mnist into $(FMNIST_DIR)."; \
	elif [ "$(DATA_FALLBACK)" = tfds ]; then \
	  echo "Fashion-MNIST: $(FMNIST) missing and apt-get not usable (need root or passwordless sudo);"; \
	  echo "falling back to tfds: $(VENV_PY) -m tensorflow_datasets.scripts.download_and_prepare --datasets=fashion_mnist"; \
	  $(MAKE) --no-print-directory setup; \
	  $(VENV_PY) -m tensorflow_datasets.scripts.download_and_prepare --datasets=fashion_mnist \
	    || $(VENV)/bin/tfds build fashion_mnist; \
	else \
	  echo "Fashion-MNIST: not available (no $(FMNIST), apt-get not usable, DATA_FALLBACK=$(DATA_FALLBACK))." >&2; \
	  exit 1; \
	fi

demo: setup data
	$(VENV_PY) -m repro.papers.wgan --dataset=fashion_mnist --variant=gp --workdir=runs/demo --steps=$(DEMO_STEPS) \
	  --eval_every=100 --save_every=100

# Data is installed when that is cheap (file present or apt-get usable); the tfds download is not
# attempted here and a failure only warns, because tests must not depend on the real data set.
test: pytest bazel-test

pytest: $(TEST_STAMP)
	@$(MAKE) --no-print-directory data DATA_FALLBACK=none || echo "warning: Fashion-MNIST not installed; running tests without it." >&2
	$(VENV_PY) -m pytest -q --durations=10 tests

# Every golden bound >= 5x the largest value its check took under these configurations (exit 1 otherwise).
golden-spread: $(TEST_STAMP)
	$(VENV_PY) -m tests.golden_spread --write

# Retrains the suite's runs of each study (resumable: finished runs are reused) and compares them with the
# official runs recorded in papers/results; exits 5 when a study is not within the official code's spread.
STUDY_WORKDIR ?= runs/whole_run
WHOLE_RUN_STUDIES ?= wgan_gp_8gaussians:gp wgan_clip_8gaussians:clip klwgan_mog_kl:klwgan klwgan_mog_hinge:klwgan \
                     ttur_dcgan_fashion_mnist:ttur_dcgan
whole-run-studies: setup
	@status=0; for pair in $(WHOLE_RUN_STUDIES); do \
	  study=$${pair%%:*}; folder=$${pair##*:}; \
	  nice $(VENV_PY) -m repro.studies.whole_run --study=$$study --workdir=$(STUDY_WORKDIR)/$$folder || status=$$?; \
	done; exit $$status

bazel-test: $(TEST_STAMP)
	@if ! command -v $(BAZEL) >/dev/null 2>&1 || [ ! -d /usr/share/bazel/rules/java ]; then \
	  if [ -z "$(APT_GET)" ]; then \
	    echo "bazel-test: skipped: bazel (or bazel-rules-java) is missing and apt-get is not usable (need root or passwordless sudo)."; \
	    exit 0; \
	  fi; \
	  $(call apt_install,bazel-bootstrap bazel-rules-java); \
	fi; \
	BAZEL_PYTHON="$(CURDIR)/$(VENV_PY)" $(BAZEL) test $(BAZEL_TARGETS)

# Stops this workspace's Bazel server and deletes its outputs (the next bazel-test is a cold run).
clean-bazel:
	-$(BAZEL) clean --expunge
