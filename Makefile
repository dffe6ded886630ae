# govmedia — the two commands: `make run` and `make test` (see README).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | sha1sum | cut -c1-12)
PYTEST_WORKERS ?= 2
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install run test test-nightly test-sqlite test-postgres lint checkdb clean browser-deps bulletin-deps node-deps

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip==25.3
	$(BIN)/pip install -q -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP) node-deps

# Front-end packages (axe-core for the accessibility tests), from package-lock.json.
# `make run` needs only Python, so a machine without npm gets a note instead of an error.
node-deps:
	@if [ -f node_modules/axe-core/axe.min.js ]; then :; elif command -v npm >/dev/null; then \
	  npm ci --no-audit --no-fund; else echo "npm not found: axe-core not installed (browser a11y tests need it)"; fi

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; no browser downloads),
# and a small CJK font so the screenshots of these Chinese pages show text, not boxes.
browser-deps:
	@[ -x /usr/bin/chromium ] && [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] \
	  || (apt-get update && apt-get install -y chromium fonts-wqy-microhei)

# Optional: LibreOffice (Writer, no GUI) and poppler to render the Word 通报's first page in
# tests/reports/test_bulletin_office.py (skipped without them — failed under CI=true), and a CJK font.
bulletin-deps:
	@command -v soffice >/dev/null && command -v pdftoppm >/dev/null \
	  || (apt-get update && apt-get install -y --no-install-recommends libreoffice-writer-nogui poppler-utils fonts-noto-cjk)

run: install
	$(BIN)/python devserver.py

# ruff; the import contracts ([tool.importlinter]); mypy, strict on the typed core ([tool.mypy]).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# Database tests run on SQLite and again on PostgreSQL (127.0.0.1:5432). Tests that need
# PostgreSQL/Redis/real processes skip when those are absent — and FAIL under CI=true (also when a
# part collects no test at all: pytest's exit code 5).
# Then the tests with real processes and the browser tests, on $(PYTEST_WORKERS) xdist workers (one module per
# worker: --dist loadfile; each worker starts its own live stack; the longest modules first, in
# tests/conftest.py's order: --no-loadscope-reorder); then, alone, the `serial` test
# that restarts the Redis everything else shares. The long sweeps (marker `nightly`) are left to
# `make test-nightly`. See README, "测试 / Tests".
SLOW_RUN = rc=$$?; [ $$rc -eq 0 ] || { [ $$rc -eq 5 ] && [ "$$CI" != true ]; }
test: install browser-deps bulletin-deps lint checkdb
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -m "not slow and not browser and not nightly"
	GOVMEDIA_TEST_DB=postgresql $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -m "db and not slow and not browser and not integration and not nightly"
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder -m "(slow or browser) and not serial and not nightly"; $(SLOW_RUN)
	$(BIN)/pytest -n 0 -m "serial and not nightly"; $(SLOW_RUN)

# The long sweeps `make test` leaves out (marker `nightly`): every page of every role at phone
# width in every display, and the API fuzzing with more examples per operation.
# Run nightly, after `make test` (together they run every test).
test-nightly: install browser-deps
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -m "nightly and not serial"; $(SLOW_RUN)
	FUZZ_MAX_EXAMPLES=$${FUZZ_MAX_EXAMPLES:-50} $(BIN)/pytest -n 0 tests/foundation/test_api_fuzz.py

test-sqlite: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

test-postgres: install
	GOVMEDIA_TEST_DB=postgresql $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile -m db

# Models against migrations on a temporary SQLite database and a throwaway PostgreSQL database
# (never instance/): no drift (`flask db check`), and every enum's CHECK constraint lists the model's values.
checkdb: install
	$(BIN)/pytest -n 0 -q tests/foundation/test_migrations.py
	GOVMEDIA_TEST_DB=postgresql $(BIN)/pytest -n 0 -q -m db tests/foundation/test_migrations.py

clean:
	rm -rf $(VENV) instance/*.sqlite* instance/sandbox*.json
