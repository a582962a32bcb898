"""immunotherapy.settings_production: secrets from the environment, check --deploy clean, secure headers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "immunotherapy.settings_production"
GOOD_ENV = {
    "SECRET_KEY": "k7G9-p2qXv8LzR4tW1mN6bY3cJ0hF5sD8aQ2eU7iO9rT4yP1wK6xZ3vB0nM5lH8gJ2",
    "ALLOWED_HOSTS": "health.example.org,www.health.example.org",
    "DATABASE_URL": "sqlite://:memory:",
}


def run(args: list[str], env: dict[str, str], *, code: str | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in GOOD_ENV and not k.startswith(("DJANGO_", "HEALTHLIB_"))}
    command = [sys.executable, "-c", code] if code else [sys.executable, "manage.py", *args]
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": SETTINGS, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_no_warnings():
    result = run(["check", "--deploy", "--fail-level", "WARNING"], GOOD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SECRET_KEY": ""}, "Set the SECRET_KEY environment variable"),
        ({"SECRET_KEY": "short"}, "at least 50 random characters"),
        ({"SECRET_KEY": "demo-only-not-secret-change-me-in-production-0123456789"}, "not the demo key"),
        ({"ALLOWED_HOSTS": ""}, "Set the ALLOWED_HOSTS environment variable"),
    ],
    ids=["no secret key", "short key", "demo key", "no allowed hosts"],
)
def test_missing_or_weak_configuration_fails_loudly(env, message):
    result = run(["check"], {**GOOD_ENV, **env})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


SHOW_SETTINGS = """
import django, json
django.setup()
from django.conf import settings as s
from immunotherapy import csp
from healthlib.notifications import mail_connection
db = s.DATABASES["default"]
m = mail_connection()
print(json.dumps({
    "engine": db["ENGINE"], "name": str(db["NAME"]), "host": db.get("HOST"), "port": db.get("PORT"),
    "user": db.get("USER"), "password": db.get("PASSWORD"), "debug": s.DEBUG, "hosts": s.ALLOWED_HOSTS,
    "proxy": s.SECURE_PROXY_SSL_HEADER, "demo_password": s.DEMO_PASSWORD,
    "csp": csp.MIDDLEWARE in s.MIDDLEWARE,
    "mail": [type(m).__module__, m.host, m.port, m.username, m.password, m.use_tls, m.timeout],
}))
"""


def show(env: dict[str, str]) -> dict:
    result = run([], {**GOOD_ENV, **env}, code=SHOW_SETTINGS)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_database_url_and_hosts_come_from_the_environment():
    shown = show({"DATABASE_URL": "postgres://health:s3cret@db.internal:6543/library"})
    assert shown["engine"] == "django.db.backends.postgresql"
    assert (shown["name"], shown["host"], shown["port"], shown["user"], shown["password"]) == (
        "library", "db.internal", 6543, "health", "s3cret",
    )  # fmt: skip
    assert shown["hosts"] == ["health.example.org", "www.health.example.org"]
    assert shown["debug"] is False and shown["csp"] is True
    assert shown["proxy"] is None  # trusting X-Forwarded-Proto is opt-in
    assert shown["demo_password"] is None  # load_demo refuses in production
    sqlite = show({"DATABASE_URL": "sqlite:////srv/health/db.sqlite3", "SECURE_PROXY_SSL_HEADER": "1"})
    assert (sqlite["engine"], sqlite["name"]) == ("django.db.backends.sqlite3", "/srv/health/db.sqlite3")
    assert sqlite["proxy"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_mail_server_comes_from_the_environment():
    # MAILERS on Django 6.1, EMAIL_* settings before: the same environment reaches the connection.
    mail_env = {"EMAIL_HOST": "smtp.internal", "EMAIL_PORT": "587", "EMAIL_USE_TLS": "1"}
    shown = show({**mail_env, "EMAIL_HOST_USER": "library", "EMAIL_HOST_PASSWORD": "m41l"})
    assert shown["mail"] == ["django.core.mail.backends.smtp", "smtp.internal", 587, "library", "m41l", True, 10]


PROBE = """
import django, json
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth.models import User
from django.test import Client
User.objects.create_user("ed", "ed@example.org", "pw", is_staff=True)
c = Client(HTTP_HOST="health.example.org")
out = {}
plain = c.get("/health/")
out["http"] = [plain.status_code, plain.headers.get("Location")]
page = c.get("/health/", secure=True)
out["page"] = [page.status_code, dict(page.headers)]
again = c.get("/health/", secure=True)  # answered from the page cache this time
out["cached_page"] = [again.status_code, dict(again.headers)]
login = c.get("/admin/login/", secure=True)
token = login.cookies["csrftoken"]
out["csrf_cookie"] = {k: token[k] for k in ("secure", "httponly", "samesite")}
done = c.post("/admin/login/", {"username": "ed", "password": "pw", "csrfmiddlewaretoken": token.value}, secure=True)
session = done.cookies["sessionid"]
out["session_cookie"] = {k: session[k] for k in ("secure", "httponly", "samesite")}
out["wrong_host"] = Client(HTTP_HOST="evil.example").get("/health/", secure=True).status_code
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache")
    result = run([], {**GOOD_ENV, "CACHE_DIR": str(cache)}, code=PROBE)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_plain_http_redirects_to_https(probe):
    assert probe["http"] == [301, "https://health.example.org/health/"]


EXPECTED_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "https:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


@pytest.mark.parametrize("which", ["page", "cached_page"])
def test_security_headers_on_reader_pages(probe, which):
    status, headers = probe[which]
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    # The whole policy, the same from django-csp (Django 5.2) and Django's own CSP (6.0+); the
    # directives may come in any order.
    policy = {d: sorted(v) for d, *v in (part.split() for part in headers["Content-Security-Policy"].split(";"))}
    assert policy == EXPECTED_CSP


def test_session_and_csrf_cookies_are_secure(probe):
    assert probe["session_cookie"] == {"secure": True, "httponly": True, "samesite": "Lax"}
    # markdownx's editor reads the CSRF cookie from JavaScript, so it is not HttpOnly.
    assert probe["csrf_cookie"]["secure"] is True and probe["csrf_cookie"]["samesite"] == "Lax"


def test_unknown_hosts_are_refused(probe):
    assert probe["wrong_host"] == 400


DATABASE_OPTIONS = """
import django, json
django.setup()
from django.conf import settings as s
print(json.dumps([s.DATABASES["default"]["ENGINE"], s.DATABASES["default"].get("OPTIONS", {})]))
"""


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, ["django.db.backends.sqlite3", {}]),
        (
            {"DATABASE_URL": "postgres://health:pw@db.internal:5432/health"},
            ["django.db.backends.postgresql", {"server_side_binding": True, "prepare_threshold": 5}],
        ),
        (
            {"DATABASE_URL": "postgres://health:pw@db.internal:5432/health", "PG_BEHIND_POOLER": "1"},
            ["django.db.backends.postgresql", {}],
        ),
    ],
    ids=["sqlite", "postgres", "postgres behind a pooler"],
)
def test_postgres_binds_on_the_server_and_prepares_unless_behind_a_pooler(env, expected):
    result = run([], {**GOOD_ENV, **env}, code=DATABASE_OPTIONS)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected
