# pyprof's Makefile only runs things; settings live in pyproject.toml.
#   make run    install into .venv and record the bundled example, then show its top table
#   make test   run the whole suite on every supported CPython that is installed
#   make bench  overhead and accuracy benchmarks, written to bench/RESULTS.md

SHELL := /bin/bash
PYTHON ?= python3
# Every supported CPython found on this machine: pyenv's builds first, then PATH.
SUPPORTED := 3.9 3.10 3.11 3.12 3.13
PYENV_ROOT ?= $(HOME)/.pyenv
find_python = $(firstword $(wildcard $(PYENV_ROOT)/versions/$(1).*/bin/python$(1)) \
	$(shell command -v python$(1) 2>/dev/null))
PYTHONS := $(strip $(foreach v,$(SUPPORTED),$(call find_python,$(v))))
VENVS := .venvs
PYTEST_ARGS ?=

.PHONY: help run test test-one bench clean
help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

.venv/bin/pyprof: pyproject.toml setup.py $(wildcard csrc/*) $(wildcard pyprof/*.py)
	$(PYTHON) -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -e .
	touch $@

run: .venv/bin/pyprof  ## record examples/shop.py and show the 20 hottest functions
	.venv/bin/pyprof record -o example.pb.gz -- .venv/bin/python examples/shop.py
	.venv/bin/pyprof top 20 example.pb.gz

test:  ## run the test suite on every supported CPython installed here
	@test -n "$(PYTHONS)" || { echo "no supported CPython (3.9-3.13) found" >&2; exit 1; }
	@echo "Pythons: $(PYTHONS)"
	@status=0; for py in $(PYTHONS); do \
		$(MAKE) --no-print-directory test-one PY=$$py || status=1; \
	done; exit $$status

test-one:  ## run the suite on one interpreter: make test-one PY=/path/to/python3.X
	@v=$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	env=$(VENVS)/py$$v; \
	echo "=== CPython $$v ($(PY)) ==="; \
	test -x $$env/bin/python || $(PY) -m venv $$env || exit 1; \
	$$env/bin/pip install -q --upgrade pip >/dev/null && \
	$$env/bin/pip install -q -e '.[test]' && \
	PATH=$$PWD/$$env/bin:$$PATH $$env/bin/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: .venv/bin/pyprof  ## overhead and accuracy against py-spy and cProfile
	.venv/bin/pip install -q py-spy memray
	.venv/bin/python bench/run.py --output bench/RESULTS.md
	.venv/bin/python bench/views.py --output bench/RESULTS.md
	.venv/bin/python bench/memory.py --output bench/RESULTS.md

clean:  ## remove build products and virtual environments
	rm -rf .venv $(VENVS) build *.egg-info pyprof/_core*.so pyprof/*.o csrc/*.o

-include mk/*.mk
