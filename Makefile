# make test   : create .venv if missing, install tabturn with the test, fast, report, gym, check, distributed and
#               parquet extras, run the tests
#               (Storm, Gymnasium, Dask and Parquet checks must run, not skip: TABTURN_REQUIRE_EXTRAS=1)
# make report : same setup, regenerate reports/ from the analysis scripts
# make bench  : same setup plus the bench extra (pymdptoolbox, stormpy), run the benchmarks
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP_QUIET ?= -q

.PHONY: test test-slow report bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install $(PIP_QUIET) --upgrade pip

$(VENV)/.installed-%: pyproject.toml | $(PY)
	$(PY) -m pip install $(PIP_QUIET) -e '.[$*]'
	touch $@

test: $(VENV)/.installed-test,fast,report,gym,check,distributed,parquet
	TABTURN_REQUIRE_EXTRAS=1 $(PY) -m pytest -q

test-slow: $(VENV)/.installed-test,fast,report,gym,check,distributed,parquet
	$(PY) -m pytest -q -m slow

report: $(VENV)/.installed-test,fast,report,gym,check,distributed,parquet
	$(PY) analysis/run_all.py

bench: $(VENV)/.installed-bench
	$(PY) benchmarks/exact.py
	$(PY) benchmarks/learn.py
	$(PY) benchmarks/storm.py
	$(PY) benchmarks/sweep.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
