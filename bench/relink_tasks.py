"""Publish a glossary term mentioned by N live articles through the admin: the editor's wait with the
immediate task backend (the re-link runs after commit, in the request) and with the database backend
(the request only records and queues the work), then the worker's re-link rate.

Run: .venv/bin/python bench/relink_tasks.py [--articles 1000] [--backends immediate,database]

For a "before" figure, run the same script from a checkout of the older code (the same venv serves
both: the script puts its own checkout first on the path), with ``--template`` pointing at the same
set-up file so that both measure the same database.

Each measurement runs in a fresh process on its own copy of one SQLite file (tests/settings.py, as
tests/db_process.py uses it), so none profits from another's warm caches. Wall-clock and CPU time of the process (on a busy,
shared machine wall-clock time mostly measures the queue for a core).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATABASE_BACKEND = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def child(command: str, db_file: Path, *args: str) -> dict:
    env = {**os.environ, "HEALTHLIB_TEST_SQLITE_FILE": str(db_file), "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env.pop("HEALTHLIB_TEST_DB", None)
    result = subprocess.run(
        [sys.executable, __file__, "--child", command, *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_child(command: str, *args: str) -> dict:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.apps import apps
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client, override_settings
    from django.urls import reverse

    from healthlib.markup import render_markdown
    from healthlib.models import Article, GlossaryTerm
    from tests import db_process

    # By name: the script also measures code from before the DerivedWork table.
    work = apps.all_models["healthlib"].get("derivedwork")
    pending = work.objects.count if work else lambda: None

    if command == "setup":
        call_command("migrate", verbosity=0)
        db_process.make_accounts()
        start = time.perf_counter()
        db_process.build_term_library(int(args[0]))
        return {"setup_s": round(time.perf_counter() - start, 1)}
    backend = {"immediate": None, "database": DATABASE_BACKEND}
    if command == "publish":
        term = GlossaryTerm.objects.get(slug="t-cell")
        client = Client()
        client.force_login(User.objects.get(username="editor"))
        url = reverse("admin:healthlib_glossaryterm_workflow", args=[term.pk, "publish"])
        settings = override_settings(TASKS=backend[args[0]]) if backend[args[0]] else override_settings()
        with settings:
            # Warm the process outside the timing, as any earlier request of a server process did: URL
            # resolver and templates, and markdown's extensions (imported by the first render, 25-30 ms).
            client.get("/admin/")
            render_markdown("*warm*")
            start, cpu = time.perf_counter(), time.process_time()
            response = client.post(url, {"revision": term.latest_revision_id})
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        assert response.status_code == 302, response.status_code
        linked = Article.objects.filter(live_body_html__contains='href="/health/glossary/t-cell/"').count()
        return {
            "request_ms": round(elapsed * 1000, 1),
            "request_cpu_ms": round(cpu * 1000, 1),
            "linked": linked,
            "pending": pending(),
        }
    if command == "worker":
        with override_settings(TASKS=DATABASE_BACKEND):
            start, cpu = time.perf_counter(), time.process_time()
            call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
        linked = Article.objects.filter(live_body_html__contains='href="/health/glossary/t-cell/"').count()
        return {
            "worker_s": round(elapsed, 2),
            "pages_per_s": round(linked / elapsed, 1),
            "cpu_s": round(cpu, 2),
            "pages_per_cpu_s": round(linked / cpu, 1),
            "linked": linked,
            "pending": pending(),
        }
    raise SystemExit(f"unknown command {command!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--backends", default="immediate,database")
    parser.add_argument("--template", type=Path, help="keep (or reuse) the set-up database in this file")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(*args.child)))
        return
    with tempfile.TemporaryDirectory() as folder:
        template = args.template or Path(folder) / "template.sqlite3"
        if not template.exists():
            print(f"{args.articles:,} live articles mention the term:", child("setup", template, str(args.articles)))
        for name in args.backends.split(","):
            db_file = Path(folder) / f"{name}.sqlite3"
            shutil.copy(template, db_file)
            print(f"publish through the admin, {name} backend:", child("publish", db_file, name))
            if name == "database":
                print("then the worker (db_worker --batch):", child("worker", db_file))


if __name__ == "__main__":
    main()
