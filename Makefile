# Every target works on a fresh clone from a bare Python: it creates .venv and installs into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test

.PHONY: demo test test-matrix fuzz bench peers clean data

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml setup.py | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml setup.py | $(VENV)/bin/python
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

demo: $(VENV)/.installed-base
	$(VENV)/bin/tkit demo

test: $(STAMP)
	$(PY) -m pytest

# What CI runs after `make test`: the built wheel in a clean venv outside the checkout; the suite on the newest
# Python here (3.13; kenlm does not build there) and on the oldest allowed (3.10) with every runtime dependency
# at its lowest allowed version.
test-matrix:
	.ci/wheel-smoke $(PYTHON)
	TKIT_PEERS_UNAVAILABLE=kenlm .ci/suite py313 "$$(.ci/find-python 3.13)" newest
	.ci/suite py310-oldest "$$(.ci/find-python 3.10)" oldest

# The property tests with fresh random examples (`make test` is derandomized so CI is reproducible).
fuzz: $(STAMP)
	for i in 1 2 3 4 5; do TKIT_HYPOTHESIS_PROFILE=explore $(PY) -m pytest -p no:cacheprovider -x -k "not torch" || exit 1; done

# Peers for benchmarks and parity tests; torch==2.13.0 is the CPU wheel (see README).
$(VENV)/.installed-peers: pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[test,peers]'
	touch $@

# lmplz (KenLM's estimator, orders up to 10) built from the kenlm sdist beside the venv's python, for the
# benchmarks that compare with it (.ci/build-lmplz: idempotent; installs Debian's build packages when root).
peers: $(VENV)/.installed-peers
	.ci/build-lmplz $(PY)

# Each benchmark file in a process of its own (thread pools and allocations one file leaves behind would slow the
# next one's steps), each writing its pytest-benchmark JSON; then report.py rewrites the README's tables from
# them. The report is written even when a benchmark fails (its rows say "not run"); make still fails.
# BENCH_ARGS passes options to pytest, e.g. `make bench BENCH_ARGS="-k encode"`.
BENCH_OUT := build/bench
BENCH_FILES := $(sort $(wildcard tests/benchmarks/test_bench_*.py))
bench: peers
	rm -rf $(BENCH_OUT) && mkdir -p $(BENCH_OUT)
	status=0; for f in $(BENCH_FILES); do \
		$(PY) -m pytest $$f -p no:cacheprovider -o addopts="" -q --benchmark-columns=min,median,mean,rounds \
			--benchmark-json=$(BENCH_OUT)/$$(basename $$f .py).json $(BENCH_ARGS); rc=$$?; \
		[ $$rc -eq 0 ] || [ $$rc -eq 5 ] || status=1; \
	done; \
	$(PY) tests/benchmarks/report.py $(BENCH_OUT)/*.json || status=1; \
	exit $$status

data:
	$(PYTHON) data/build_shakespeare.py

clean:
	rm -rf $(VENV) .venv-py* build *.egg-info .pytest_cache
