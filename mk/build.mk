# The C core: in-place build and its tests (included by the Makefile).
#   make build    compile pyprof/_core (cffi, API mode) next to the sources
#   make test-c   build, then run the ring/core tests and the sampler tests

.PHONY: build test-c
build:  ## compile the C sampling core in place for $(PYTHON)
	$(PYTHON) pyprof/_build_core.py

test-c: build  ## run the C core and sampler tests for $(PYTHON)
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/c tests/sampler
