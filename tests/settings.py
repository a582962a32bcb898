"""Minimal settings for healthlib's tests. Never imports the demo site's settings.

HEALTHLIB_TEST_DB=postgres runs on PostgreSQL, reached through PGHOST/PGPORT
(``make test`` starts a throwaway cluster and sets them).
"""

import os
from pathlib import Path

import django

SECRET_KEY = "tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "markdownx",
    # Django's Tasks API: built in from Django 6, the django-tasks backport before. The database task
    # backend is for tests/test_tasks.py; the default backend stays the immediate one.
    *(["django_tasks"] if django.VERSION < (6,) else []),
    "django_tasks_db",
    "healthlib",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Refuses form posts that are not valid UTF-8 (after the CSRF check, so forgeries stay 403).
    "healthlib.form_encoding.StrictFormEncodingMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).parent / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

if os.environ.get("HEALTHLIB_TEST_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ.get("PGDATABASE", "healthlib"),
            "USER": os.environ.get("PGUSER", "postgres"),
            "HOST": os.environ["PGHOST"],
            "PORT": os.environ.get("PGPORT", "5432"),
            # As recommended for production (README): parameters bound by the server, and statements
            # run repeatedly on a connection prepared once, so the suite runs the same SQL path.
            "OPTIONS": {"server_side_binding": True, "prepare_threshold": 5},
        }
    }
elif os.environ.get("HEALTHLIB_TEST_SQLITE_FILE"):
    # A database file that separate processes share (tests/db_process.py: killed imports, backups).
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["HEALTHLIB_TEST_SQLITE_FILE"]}}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}

STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if django.VERSION >= (6, 1):  # MAILERS replaces EMAIL_BACKEND (see the email_backend fixture)
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MARKDOWNX_MARKDOWNIFY_FUNCTION = "healthlib.markup.render_markdown"
