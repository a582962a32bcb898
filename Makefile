# healthlib: `make run` serves the demo, `make test` runs everything CI runs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Test files spread over the cores (pytest-xdist); a file stays on one worker, so its module
# fixtures are built once, except the parts of tests/test_xss.py (xdist groups), which spread too
# (tests/conftest.py). Slow modules first, in the collection's order. Serial: make test PYTEST_ARGS=
# --durations: the slowest tests in every CI log, where the next speed-up starts.
PYTEST_ARGS ?= -n auto --maxprocesses 4 --dist loadgroup --no-loadscope-reorder --durations=25

.PHONY: run test test-sqlite test-postgres test-redis test-versions test-django61 test-rest lint types migrations-check wheel-check browser-deps redis-deps varnish-deps axe demo bench bench-varnish bench-deps stress clean bench-peers bench-peers-deps

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

demo: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_demo

# The suites run two at a time (each prints its output when it ends): much of a run waits on
# Chromium, on server processes and on PostgreSQL, and the other run uses those cores meanwhile.
# Each has its own database (in-memory SQLite, a throwaway PostgreSQL cluster on a random port).
test: $(STAMP) lint types migrations-check browser-deps redis-deps varnish-deps axe
	$(MAKE) --no-print-directory -j2 --output-sync=target test-sqlite test-postgres
	$(MAKE) --no-print-directory -j2 --output-sync=target test-django61 test-rest

# What runs beside the Django 6.1 suite: the Django 6.0 subset, the Redis cache tests, the wheel.
test-rest: $(STAMP)
	$(MAKE) --no-print-directory test-versions NOX_ARGS="-s django60"
	$(MAKE) --no-print-directory test-redis
	$(MAKE) --no-print-directory wheel-check

test-django61: $(STAMP)
	$(MAKE) --no-print-directory test-versions NOX_ARGS="-s django61"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# mypy with django-stubs on the modules listed in pyproject.toml ([tool.mypy] files). Through `python -m`,
# which puts the project root first on sys.path: the django-stubs plugin imports tests.settings, and a
# dependency (textstat) installs a top-level `tests` package that the bare `mypy` script would find instead.
# Its own cache: mypy before 1.20 reports the cached errors of a module once checked on its own even where
# it is only followed silently (python/mypy#20508).
types: $(STAMP)
	$(BIN)/python -m mypy --cache-dir .mypy_cache/make-types

migrations-check: $(STAMP)
	DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/django-admin makemigrations --check --dry-run --pythonpath .

test-sqlite: $(STAMP)
	@echo "==> test suite on SQLite"
	$(BIN)/pytest $(PYTEST_ARGS)

test-postgres: $(STAMP)
	@echo "==> test suite on PostgreSQL (throwaway cluster)"
	tests/with_postgres.sh $(BIN)/pytest $(PYTEST_ARGS)

# The cache tests again with Django's RedisCache as the shared cache, against a throwaway redis-server
# (tests/with_redis.sh; skipped with a loud message when redis-server is missing).
REDIS_TESTS := tests/test_cache_headers.py tests/test_cache_keys.py tests/test_cache_fast_path.py \
	tests/test_cache_validators.py tests/test_cache_tags.py tests/test_cache_redis.py tests/test_purge.py \
	tests/test_cache_invalidation.py tests/test_cache_processes.py
test-redis: $(STAMP) redis-deps
	@echo "==> cache tests on Redis (throwaway redis-server)"
	tests/with_redis.sh $(BIN)/pytest $(PYTEST_ARGS) --ds tests.settings_redis $(REDIS_TESTS)

# Python 3.13 + Django 6.1 (whole suite, PostgreSQL) and Python 3.12 + Django 6.0 (fast subset),
# deprecation warnings as errors: see noxfile.py. One session: make test-versions NOX_ARGS="-s django60"
test-versions: $(STAMP)
	@echo "==> newer Django and Python versions (nox)"
	$(BIN)/nox $(NOX_ARGS)

wheel-check: $(STAMP)
	$(BIN)/python tests/check_wheel.py

# $(call apt_install,PROGRAM,what happens without it[,PACKAGE]): Debian's package of that name (or PACKAGE),
# installed when the program is missing and we are root with apt-get; otherwise a loud message and nothing else.
apt_install = if command -v $(1) >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "==> installing Debian's $(or $(3),$(1))"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(or $(3),$(1)) >/dev/null; \
	else echo "!! $(1) is missing and we are not root: $(2)"; fi

# Browser tests drive Debian's Chromium. Installed here when missing and we are root;
# otherwise those tests skip with a loud message.
browser-deps:
	@$(call apt_install,chromium,browser tests will be SKIPPED)

# The Redis cache tests start Debian's redis-server (tests/with_redis.sh). Installed here when missing
# and we are root; otherwise those tests skip with a loud message.
redis-deps:
	@$(call apt_install,redis-server,the Redis cache tests will be SKIPPED)

# The Varnish end-to-end tests (tests/test_varnish.py, in test-sqlite and test-postgres) start Debian's
# varnishd with vmod_xkey (package varnish-modules). varnishd lives in /usr/sbin, often not on a user's
# PATH, and xkey is a vmod file rather than a program: both are checked by path. Installed here when
# missing and we are root; otherwise those tests skip with a loud message.
VARNISHD := /usr/sbin/varnishd
VMOD_XKEY = $(wildcard /usr/lib/*/varnish/vmods/libvmod_xkey.so)
varnish-deps:
	@if [ -x $(VARNISHD) ] && [ -n "$(VMOD_XKEY)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "==> installing Debian's varnish and varnish-modules"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq varnish varnish-modules >/dev/null; \
	else echo "!! varnishd or vmod_xkey is missing and we are not root: the Varnish tests will be SKIPPED"; fi

# axe-core (accessibility checks in tests/test_browser_reader.py), from the npm registry.
AXE := .cache/npm/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE):
	@if command -v npm >/dev/null 2>&1; then npm install --no-save --prefix .cache/npm axe-core@4; \
	else echo "!! npm is missing: the axe-core accessibility checks will be SKIPPED"; fi

# Benchmarks at scale, on SQLite and a throwaway PostgreSQL (not part of `make test`; 15-25 minutes on 2 cores).
# Options through ARGS, e.g. make bench ARGS="--articles 100000 --skip-throughput". See docs/benchmarks.md.
bench: $(STAMP) bench-deps
	$(BIN)/python -m bench.run $(ARGS)
	$(BIN)/python bench/page_cache.py  # one publish: the share of the other cached pages kept (issue 12)

# Varnish in front (not part of make bench's run): commit to new page through Varnish, cached article vs a
# static object in the same Varnish (bench/varnish.py; on PostgreSQL: tests/with_postgres.sh .venv/bin/python -m bench.varnish).
bench-varnish: $(STAMP) bench-deps varnish-deps redis-deps
	$(BIN)/python -m bench.varnish $(ARGS)

# wrk from Debian's packages drives the throughput runs; without it bench/run.py uses a slower Python load generator.
bench-deps:
	@$(call apt_install,wrk,throughput uses the Python load generator)

# healthlib beside Wagtail 8, a static WSGI app and nginx, in one run of the peers harness (not part of
# `make test`; 3 min with -d 5 -r 2, plus about 4 min to build its database and, the first time, the Wagtail
# site). PEERS: the harness's folder, relative to this repository. Options through ARGS, e.g.
# make bench-peers ARGS="-d 5 -r 2 --keep-db". See docs/benchmarks.md.
PEERS ?= $(or $(PEERS_DIR),../shared/peers)
bench-peers: $(STAMP) bench-peers-deps
	$(BIN)/python -m bench.peers --peers $(PEERS) $(ARGS)

# The harness needs wrk and curl; nginx (Debian's nginx-light) is its outer-limit target, skipped without it.
bench-peers-deps:
	@$(call apt_install,wrk,the peers benchmark cannot run)
	@$(call apt_install,curl,the peers benchmark cannot run)
	@$(call apt_install,nginx,the peers benchmark runs without its nginx target,nginx-light)

# Readers under write load (not part of `make test`): gunicorn on 127.0.0.1, 64 readers for at least 30 s
# while another process publishes 100 revisions; fails on any 5xx or leaked draft text. See docs/stress.md.
stress: $(STAMP)
	$(BIN)/python -m tests.stress.run $(ARGS)

clean:
	rm -rf build dist *.egg-info .pytest_cache var db.sqlite3
