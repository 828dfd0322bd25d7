# The stress job (included by the Makefile; .ci/run runs it after make test).
#   make stress   on every supported CPython installed here: 30 s at 10 kHz of
#                 tests/robustness/stress_target.py under pyprof record (zero
#                 crashes, signals all caught, resident memory stable), then a
#                 short recording with the C core built with AddressSanitizer.
# About 45 s per Python. STRESS_SECONDS and ASAN_SECONDS change the lengths.

STRESS_SECONDS ?= 30
ASAN_SECONDS ?= 3

.PHONY: stress stress-one
stress:  ## 30 s at 10 kHz on a program that does everything, and an ASan run
	@test -n "$(PYTHONS)" || { echo "no supported CPython (3.9-3.13) found" >&2; exit 1; }
	@status=0; for py in $(PYTHONS); do \
		$(MAKE) --no-print-directory stress-one PY=$$py || status=1; \
	done; exit $$status

stress-one:  ## the stress job on one interpreter: make stress-one PY=/path/to/python3.X
	@v=$$($(PY) -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
	env=$(VENVS)/py$$v; \
	echo "=== stress, CPython $$v ($(PY)) ==="; \
	if ! test -x $$env/bin/pyprof; then \
		{ test -x $$env/bin/python || $(PY) -m venv $$env; } && \
		$$env/bin/pip install -q --upgrade pip >/dev/null && \
		$$env/bin/pip install -q -e '.[test]' || exit 1; \
	fi; \
	$$env/bin/python tests/robustness/stress.py --seconds $(STRESS_SECONDS) && \
	$$env/bin/python tests/robustness/stress.py --seconds $(ASAN_SECONDS) --asan
