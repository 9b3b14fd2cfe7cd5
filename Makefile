# Two commands from nothing: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PACKAGES := marketplace catalog billing sso
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint typecheck pytest translations translations-update install-browser bench bench-ingest bench-close clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

translations: $(STAMP)
	$(BIN)/pybabel compile -d marketplace/translations -D messages 2>&1 | grep -v '^compiling' || true

translations-update: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k "pgettext:1c,2" -k "lazy_pgettext:1c,2" -k "npgettext:1c,2,3" -o marketplace/translations/messages.pot .
	$(BIN)/pybabel update -i marketplace/translations/messages.pot -d marketplace/translations -l zh_Hans_CN --no-fuzzy-matching

run: $(STAMP) translations
	./scripts/run-dev

lint: $(STAMP)
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) translations
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(STAMP) translations
	$(BIN)/python bench/storefront.py

bench-ingest: $(STAMP) translations
	$(BIN)/python bench/ingest.py

bench-close: $(STAMP) translations
	$(BIN)/python bench/close.py

clean:
	rm -rf $(VENV) instance/yunshi.db
