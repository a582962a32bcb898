"""Take the README's screenshots (docs/img/*.png) again, from the demo site.

    make demo                            # the demo database, as `make run` builds it
    .venv/bin/python docs/screenshots.py # serves it on 127.0.0.1:8001, drives headless Chromium

Needs Chromium (Debian's ``chromium``, or ``CHROMIUM=/path/to/chrome``) and Playwright for Python
(in the ``dev`` extras; no browser download: it drives the system's Chromium). ``--port`` picks
another port. The script only reads: it finds a draft of a live article (the editor's page), an
article in review with a live revision (the reviewer's page) and that article's live page (the
reader's), so the pictures follow the demo content.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
WIDTH = 1200

sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "immunotherapy.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.urls import reverse  # noqa: E402
from PIL import Image  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from healthlib import workflow  # noqa: E402
from healthlib.models import Article  # noqa: E402
from immunotherapy.demo import EDITOR, REVIEWERS  # noqa: E402


def pages() -> list[tuple[str, str | None, str, str]]:
    """(file name, user to sign in as, path, what to capture) for each screenshot."""
    draft = Article.objects.filter(state="draft", live_revision__isnull=False).order_by("slug").first()
    in_review = Article.objects.filter(state="in_review", live_revision__isnull=False).order_by("slug").first()
    if draft is None or in_review is None:
        sys.exit("The demo is not loaded (or has changed): run `make demo` first.")
    users = get_user_model().objects
    reviewer = next(name for name in REVIEWERS if workflow.can(users.get(username=name), "approve", in_review))
    return [
        ("1-editor.png", EDITOR, reverse("admin:healthlib_article_change", args=[draft.pk]), "top"),
        ("2-reviewer.png", reviewer, reverse("admin:healthlib_reviewqueue_review", args=[in_review.pk]), "top"),
        ("3-reader.png", None, in_review.get_absolute_url(), "review-line"),
    ]


def serve(port: int) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    sys.exit(f"runserver did not answer on port {port}")


def save(png: bytes, name: str) -> None:
    # 256 colours keep a screenshot of text and flat colours sharp at a third of the size.
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    image.save(OUT / name, optimize=True)
    print(f"{OUT / name}: {image.width}x{image.height}, {(OUT / name).stat().st_size // 1024} KB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8001)
    port = parser.parse_args().port
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        sys.exit("Chromium is missing: install Debian's chromium or set CHROMIUM=/path/to/chrome.")
    OUT.mkdir(parents=True, exist_ok=True)
    shots = pages()
    server = serve(port)
    base = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, headless=True)
            for name, username, path, capture in shots:
                context = browser.new_context(viewport={"width": WIDTH, "height": 760})
                page = context.new_page()
                if username:
                    page.goto(f"{base}{reverse('admin:login')}")
                    page.fill("#id_username", username)
                    page.fill("#id_password", settings.DEMO_PASSWORD)
                    page.click("input[type=submit]")
                    page.wait_for_load_state()
                page.goto(f"{base}{path}")
                if capture == "top":
                    png = page.screenshot()
                else:  # the end of the article: last references, the review line, the disclaimer
                    footer = page.locator("footer.healthlib-review").bounding_box()
                    disclaimer = page.locator(".healthlib-disclaimer").bounding_box()
                    top = footer["y"] - 170
                    bottom = disclaimer["y"] + disclaimer["height"] + 16
                    clip = {"x": footer["x"] - 24, "y": top, "width": footer["width"] + 48, "height": bottom - top}
                    png = page.screenshot(full_page=True, clip=clip)
                save(png, name)
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
