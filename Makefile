# OCOP platform — `make run` starts everything, `make test` runs the test suite.
VENV   ?= .venv
PY     := $(VENV)/bin/python
PYTHON ?= python3
STAMP  := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: run test stop bench install translations e2e-deps clean backup restore drill

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(VENV)/bin/pybabel compile -d app/translations

run: install
	$(PY) -m infra.run

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	$(PY) -m pytest tests/benchmarks -p no:cacheprovider -q --benchmark-enable --benchmark-columns=min,median,mean,max,ops

# Backups (infra/backup.py): `make backup [TO=folder]`, `make restore FROM=folder DB=name BUCKET=name`,
# `make drill FROM=folder` (restore into scratch, compare with the manifest, drop).
backup: install
	$(PY) -m infra.backup backup $(if $(TO),--to $(TO))

restore: install
	$(PY) -m infra.backup restore --from $(FROM) --database $(DB) --bucket $(BUCKET)

drill: install
	$(PY) -m infra.backup drill --from $(FROM)

stop:
	$(PY) -m infra.run stop
	$(PY) -m infra.stack down --var var/test

# Debian's Chromium for the browser tests (Playwright drives it; no browser download).
e2e-deps:
	test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

clean: stop
	rm -rf var
