# make test   : create .venv if missing, install tabturn with the test, fast, report, gym, minigrid, check, distributed,
#               parquet, analysis and lint extras, run the tests
#               (Storm, Gymnasium, Dask and Parquet checks must run, not skip: TABTURN_REQUIRE_EXTRAS=1)
# make lint   : ruff check, ruff format --check and mypy (settings in pyproject.toml: strict on tabturn.core and
#               tabturn.exact, gradual elsewhere); CI runs it before the tests
# make report : same setup, regenerate reports/ from the analysis scripts
# make bench  : same setup plus the bench extra (pymdptoolbox, stormpy, jax), run the benchmarks (about 2.5 minutes) and
#               rewrite benchmarks/RESULTS.md and the README's performance table
# make lock   : refresh requirements.lock (the exact versions the reports were made with) in a fresh venv
# Every install is constrained by requirements.lock, so a fresh machine gets the versions of the reports.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_QUIET ?= -q
LOCK := requirements.lock
EXTRAS := test,fast,report,gym,minigrid,check,distributed,parquet,analysis,lint

.PHONY: test test-slow lint report bench lock clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) --upgrade pip

$(VENV)/.installed-%: pyproject.toml $(LOCK) | $(PY)
	$(PY) -m pip install $(PIP_QUIET) -c $(LOCK) -e '.[$*]'
	touch $@

test: $(VENV)/.installed-$(EXTRAS)
	TABTURN_REQUIRE_EXTRAS=1 $(PY) -m pytest -q

lint: $(VENV)/.installed-$(EXTRAS)
	$(VENV)/bin/ruff check tabturn analysis tests benchmarks
	$(VENV)/bin/ruff format --check tabturn analysis tests benchmarks
	$(VENV)/bin/mypy

test-slow: $(VENV)/.installed-$(EXTRAS)
	$(PY) -m pytest -q -m slow

report: $(VENV)/.installed-$(EXTRAS)
	$(PY) -m analysis.run_all

lock:
	rm -rf .lock-venv
	$(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install $(PIP_QUIET) --upgrade pip
	.lock-venv/bin/python -m pip install $(PIP_QUIET) -e '.[$(EXTRAS)]'
	(echo "# pip constraints: the versions reports/ was made with (make lock refreshes; Python 3.11, x86_64)"; \
	 .lock-venv/bin/python -m pip freeze --exclude-editable) > $(LOCK).tmp
	mv $(LOCK).tmp $(LOCK)
	rm -rf .lock-venv

bench: $(VENV)/.installed-bench
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
