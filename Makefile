# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint typecheck unit docs bench clean browser-deps screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/uvicorn examples.starlette_app:app --host 127.0.0.1 --port 8000

test: lint typecheck unit docs

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# axe-core for the accessibility checks in tests/browser (a test-only npm devDependency).
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	@if command -v npm >/dev/null; then npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the axe-core browser tests will skip (they fail in CI)"; fi

# Debian's Chromium for the browser tests (Playwright's own download is not used).
browser-deps: $(AXE)
	@test -x /usr/bin/chromium || { apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

unit: $(STAMP) $(AXE)
	$(BIN)/pytest --cov --cov-report=term-missing

docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir build/site

# Regenerate docs/img/banner-*.png from the example shop in headless Chromium.
screenshots: $(STAMP)
	$(BIN)/python -m tests.browser.screenshots

# End to end (docs/performance.md): uvicorn serving each stack, driven by Debian's wrk.
bench: $(STAMP)
	@test -x /usr/bin/wrk || { apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk; }
	$(BIN)/python -m bench
	$(BIN)/python -m bench.records

clean:
	rm -rf $(VENV) node_modules build .pytest_cache .mypy_cache .ruff_cache .coverage
