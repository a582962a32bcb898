"""The tests mirror the modules (STYLE.md rule 12): the tests of ``healthlib/X.py`` are in ``tests/test_X.py``.

A module in a package is named with its package: ``healthlib/admin/review.py`` -> ``tests/test_admin_review.py``,
and a package's ``__init__.py`` -> ``tests/test_admin.py``. A module with logic (at least :data:`LOGIC_LINES`
lines inside function bodies: model fields, admin options and URL patterns do not count) has its mirror, or
an entry in :data:`TESTED_ELSEWHERE` saying where its tests are and why there. Every other test module is
listed in docs/development.md, with what it covers, so that a reader finds it from there.
"""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "healthlib"
TESTS = ROOT / "tests"
DOCS = ROOT / "docs" / "development.md"

LOGIC_LINES = 20

#: Modules (or packages, ending in "/") with logic and no mirror: the test modules that cover them, and why.
TESTED_ELSEWHERE = {
    "healthlib/admin/base.py": (
        ["test_admin_actions.py", "test_request_ids.py"],
        "the base every admin builds on: refusals and safe redirects through the actions, checked ids through odd ids",
    ),
    "healthlib/cache.py": (
        [
            "test_cache_fast_path.py",
            "test_cache_headers.py",
            "test_cache_keys.py",
            "test_cache_validators.py",
            "test_cache_redis.py",
            "test_cache_processes.py",
        ],
        "one test module per concern of the page cache",
    ),
    "healthlib/derived_work.py": (["test_tasks.py"], "the tasks run its retryable work"),
    "healthlib/management/commands/": (
        ["test_link_checks.py", "test_content_files_sync.py", "test_tasks.py", "test_review_due.py"],
        "each command is tested with the module it drives",
    ),
    "healthlib/models/content.py": (["test_models.py"], "the models package, tested as one"),
    "healthlib/purge/cloudfront.py": (["test_purge_backends.py"], "every backend against one recording server"),
    "healthlib/purge/varnish.py": (["test_purge_backends.py"], "every backend against one recording server"),
    "healthlib/search/": (["test_search.py"], "one API, run on both backends (SQLite and PostgreSQL)"),
}


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "migrations" not in p.relative_to(PACKAGE).parts)


@functools.cache
def logic_lines(path: Path) -> int:
    """Lines inside function bodies, docstrings left out: what a module does rather than declares."""
    lines: set[int] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        body = node.body
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        for statement in body:
            lines.update(range(statement.lineno, (statement.end_lineno or statement.lineno) + 1))
    return len(lines)


def mirror(module: Path) -> Path:
    """``healthlib/admin/review.py`` -> ``tests/test_admin_review.py``; ``healthlib/admin/__init__.py`` -> ``tests/test_admin.py``."""
    parts = list(module.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return TESTS / f"test_{'_'.join(parts)}.py"


def covering_entry(module: Path) -> str | None:
    name = module.relative_to(ROOT).as_posix()
    return next((key for key in TESTED_ELSEWHERE if name == key or (key.endswith("/") and name.startswith(key))), None)


def test_every_module_with_logic_has_its_test_module():
    missing = [
        f"{module.relative_to(ROOT)} ({logic_lines(module)} lines of logic): write {mirror(module).relative_to(ROOT)}"
        for module in modules()
        if logic_lines(module) >= LOGIC_LINES and not mirror(module).exists() and not covering_entry(module)
    ]
    assert not missing, "\n".join(missing)


def test_the_list_of_modules_tested_elsewhere_is_still_true():
    """Each entry names test modules that exist, and is still needed: a module it covers has logic and no mirror."""
    for key, (tests, reason) in TESTED_ELSEWHERE.items():
        assert reason and tests, key
        for name in tests:
            assert (TESTS / name).exists(), f"{key}: {name} does not exist"
        covered = [m for m in modules() if covering_entry(m) == key]
        needed = [m for m in covered if logic_lines(m) >= LOGIC_LINES and not mirror(m).exists()]
        assert needed, f"{key} is not needed any more: remove it from TESTED_ELSEWHERE"


def test_every_other_test_module_is_listed_in_the_development_guide():
    mirrors = {mirror(module) for module in modules()}
    listed = set(re.findall(r"`tests/(test_\w+\.py)`", DOCS.read_text()))
    unlisted = [p.name for p in sorted(TESTS.glob("test_*.py")) if p not in mirrors and p.name not in listed]
    assert not unlisted, f"say what these cover in docs/development.md: {unlisted}"
    stale = sorted(name for name in listed if not (TESTS / name).exists())
    assert not stale, f"docs/development.md lists test modules that do not exist: {stale}"


def test_the_mirror_names():
    assert mirror(PACKAGE / "admin" / "review.py") == TESTS / "test_admin_review.py"
    assert mirror(PACKAGE / "admin" / "__init__.py") == TESTS / "test_admin.py"
    assert mirror(PACKAGE / "workflow.py") == TESTS / "test_workflow.py"
    assert covering_entry(PACKAGE / "search" / "sqlite.py") == "healthlib/search/"
    assert covering_entry(PACKAGE / "workflow.py") is None
    assert logic_lines(PACKAGE / "models" / "audit.py") < LOGIC_LINES <= logic_lines(PACKAGE / "workflow.py")
