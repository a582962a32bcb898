"""Layers point one way (STYLE.md rule 16): the import-linter contracts in pyproject.toml (``make lint``
runs ``lint-imports``), and no function-local import that only dodges an import circle."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "healthlib"

#: Function-local imports of healthlib's own modules that stay, and why.
ALLOWED = {
    # AppConfig.ready: the app's modules import its models, which exist only once the apps are loaded.
    "healthlib/apps.py",
    # A migration imports today's code only when it runs, never when the migration graph is loaded.
    "healthlib/migrations/",
}
#: (file, imported module): a site's wsgi.py imports healthlib.cache, and with it cache_tags, before
#: Django is set up, so neither may import the models at the top (nor reader_pages, which does: cache_tags
#: reads how many related articles a page lists).
ALLOWED_IMPORTS = {
    ("healthlib/cache.py", "healthlib.models"),
    ("healthlib/cache_tags.py", "healthlib.models"),
    ("healthlib/cache_tags.py", "healthlib.reader_pages"),
}


def local_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of each import of a healthlib module inside a function."""
    found = []
    for function in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("healthlib")):
                found.append((node.lineno, node.module or "."))
            elif isinstance(node, ast.Import):
                found += [(node.lineno, alias.name) for alias in node.names if alias.name.startswith("healthlib")]
    return found


def test_no_function_local_imports_of_healthlib_modules():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name.startswith(tuple(ALLOWED)):
            continue
        offenders += [
            f"{name}:{line} imports {module}"
            for line, module in local_imports(path)
            if (name, module) not in ALLOWED_IMPORTS
        ]
    assert offenders == [], "import at the top, or move the code to the layer it belongs to"


def test_models_have_no_publishing_methods():
    from healthlib.models import Article, GlossaryTerm

    for model in (Article, GlossaryTerm):
        assert not hasattr(model, "set_live_content") and not hasattr(model, "clear_live_content")


def test_the_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    if not lint_imports.exists():
        pytest.skip("import-linter is not installed (pip install -e '.[dev]')")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout[-3000:]


def test_the_page_cache_imports_before_django_is_set_up():
    """A site's wsgi.py imports healthlib.cache (CachedPagesWSGI) before get_wsgi_application()."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    code = "import healthlib.cache, django; django.setup(); print('ok')"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]
