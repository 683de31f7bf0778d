# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
# Where `make demo` serves: make demo PORT=8080 HOST=0.0.0.0. Plain assignments, not ?=:
# shells and hosting platforms export HOST and PORT, which must not move the demo.
HOST = 127.0.0.1
PORT = 8000

.PHONY: demo test lint typecheck unit docs package bench clean browser-deps screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/uvicorn examples.starlette_app:app --host $(HOST) --port $(PORT)

test: lint typecheck unit docs package

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

# What PyPI would get: the sdist and the wheel (built from the sdist), their metadata
# checked, then the wheel installed alone in a fresh virtualenv (its own dependencies, no
# dev extras) and tests/smoke_wheel.py run there, isolated (-I) and from an empty
# directory, so that `import consent` finds the installed package and not this checkout.
DIST := build/dist
SMOKE_VENV := build/smoke-venv
package: $(STAMP)
	rm -rf $(DIST) $(SMOKE_VENV)
	$(BIN)/python -m build --outdir $(DIST) .
	$(BIN)/twine check --strict $(DIST)/*
	$(PYTHON) -m venv $(SMOKE_VENV)
	$(SMOKE_VENV)/bin/python -m pip install --quiet $(DIST)/*.whl
	$(SMOKE_VENV)/bin/python -I tests/smoke_wheel.py "$(CURDIR)"

# Regenerate docs/img/banner-*.png (the example shop) and docs/img/scan-report.png (a scan
# of the test site) in headless Chromium.
screenshots: $(STAMP)
	$(BIN)/python -m tests.browser.screenshots

# End to end (docs/performance.md): uvicorn serving each stack, driven by Debian's wrk.
bench: $(STAMP)
	@test -x /usr/bin/wrk || { apt-get update && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends wrk; }
	$(BIN)/python -m bench
	$(BIN)/python -m bench.records
	$(BIN)/python -m bench.scan

clean:
	rm -rf $(VENV) node_modules build .pytest_cache .mypy_cache .ruff_cache .coverage
