"""The editors' and reviewers' workspace in the admin (:mod:`healthlib.admin`) is optional.

The tests of each of its modules are in ``tests/test_admin_<module>.py``; their helpers in ``tests/admin_pages.py``.
"""

from __future__ import annotations

from tests.admin_pages import action_url  # noqa: F401 (tests/test_tasks.py imports it from here)


def test_the_core_works_without_the_admin(tmp_path):
    """healthlib.workflow and the reader side run in a project without django.contrib.admin."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = """
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "markdownx", "healthlib"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    ROOT_URLCONF="healthlib.urls", USE_TZ=True, SECRET_KEY="x",
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
    MARKDOWNX_MARKDOWNIFY_FUNCTION="healthlib.markup.render_markdown",
)
django.setup()
import sys
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth.models import Group, User
from healthlib import workflow
user = User.objects.create_user("e")
user.groups.add(Group.objects.get(name="Editors"))
item = workflow.create_article(user, slug="x", article_type="drug",
    content={"title": "T", "summary": "S", "body": "B", "references": []})
# (markdownx itself imports admin widgets; what matters is that the admin app is not needed.)
assert "healthlib.admin" not in sys.modules and "healthlib.forms" not in sys.modules
print("OK", item.state)
"""
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": root}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=str(tmp_path), timeout=120, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "OK draft" in result.stdout
