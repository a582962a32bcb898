"""The newer Django and Python versions healthlib supports, run by ``make test`` after the main suite.

``make test`` itself runs the whole suite on Python 3.11 + Django 5.2 (SQLite and PostgreSQL).
These sessions add Python 3.13 + Django 6.1 (the whole suite, on PostgreSQL) and Python 3.12 +
Django 6.0 (a fast subset, on SQLite), with deprecation warnings as errors so that the next
Django's removals show up here first. ``PYTHONWARNINGS`` carries that rule into the settings
import and into every process the tests start (``check --deploy``, the cache processes).

An interpreter is found on PATH or through pyenv, never at a fixed path; when neither has it, the
session is skipped with a loud message and ``make test`` goes on (a failing session still fails it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import nox

# uv (a dev dependency) builds the two sessions' virtualenvs in seconds from its cache; plain venv + pip
# where it is missing.
nox.options.default_venv_backend = "uv|venv"
nox.options.reuse_existing_virtualenvs = True

WARNINGS_AS_ERRORS = ["-W", "error::DeprecationWarning", "-W", "error::PendingDeprecationWarning"]
# As the Makefile's PYTEST_ARGS: files stay on one worker, the XSS corpus's parts spread (tests/conftest.py).
PARALLEL = ["-n", "auto", "--maxprocesses", "4", "--dist", "loadgroup", "--no-loadscope-reorder", "--durations=25"]
# The fast subset: the modules that lean on Django's own APIs (models, checks, the workflow and its
# emails, views, feeds, admin, uploads, the production settings with Django's CSP), none of the
# browser, XSS-corpus, scale or multi-process modules.
FAST = [
    f"tests/test_{name}.py"
    for name in (
        "models", "checks", "workflow", "workflow_matrix", "notifications", "review_due",
        "views", "reader_pages", "feeds", "sitemaps", "structured_data", "uploads", "deploy",
        "admin", "admin_actions", "admin_content", "admin_filters", "admin_history", "admin_profiles",
        "admin_records", "admin_review", "admin_workspace",
    )
]  # fmt: skip


def _runs(path: str) -> bool:
    return subprocess.run([path, "-c", "pass"], capture_output=True).returncode == 0


def interpreter(version: str) -> str | None:
    """Path of a working ``python<version>``: on PATH, else the newest pyenv build of it."""
    found = shutil.which(f"python{version}")
    if found and _runs(found):  # a pyenv shim for a version that is not active fails when run
        return found
    if not shutil.which("pyenv"):
        return None
    listed = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True).stdout.split()
    builds = [v for v in listed if re.fullmatch(rf"{re.escape(version)}\.\d+", v)]
    for build in sorted(builds, key=lambda v: [int(part) for part in v.split(".")], reverse=True):
        prefix = subprocess.run(["pyenv", "prefix", build], capture_output=True, text=True).stdout.strip()
        path = f"{prefix}/bin/python{version}"
        if prefix and _runs(path):
            return path
    return None


def _session(name: str, python: str, django: str, *pytest_args: str, postgres: bool = False) -> None:
    path = interpreter(python)

    @nox.session(name=name, python=path or False)
    def run(session: nox.Session) -> None:
        if path is None:
            message = f"Python {python} not found (not on PATH, not in pyenv): {name} (Django {django}) SKIPPED"
            print(f"\n{'!' * 100}\n!! {message}\n{'!' * 100}\n", file=sys.stderr)
            session.skip(message)
        session.install("-e", ".[dev]", f"Django{django}")
        session.env["PYTHONWARNINGS"] = "error::DeprecationWarning,error::PendingDeprecationWarning"
        command = ["pytest", "-q", *WARNINGS_AS_ERRORS, *PARALLEL, *pytest_args, *session.posargs]
        if postgres:
            session.run("tests/with_postgres.sh", *command, external=True)
        else:
            session.run(*command)


_session("django61", "3.13", ">=6.1,<6.2", postgres=True)
_session("django60", "3.12", ">=6.0,<6.1", *FAST)
