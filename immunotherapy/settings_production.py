"""Production settings for the demo site: the demo settings, hardened, with secrets from the environment.

    DJANGO_SETTINGS_MODULE=immunotherapy.settings_production

Environment (required unless a default is given):

``SECRET_KEY``
    Required. At least 50 random characters, e.g. ``python -c "import secrets; print(secrets.token_urlsafe(64))"``.
``ALLOWED_HOSTS``
    Required. Comma-separated host names, e.g. ``health.example.org,www.health.example.org``.
``DATABASE_URL``
    Default ``sqlite:///<project>/var/db.sqlite3``. E.g. ``postgres://user:password@db.internal:5432/health``.
``PG_BEHIND_POOLER``
    PostgreSQL only. Default ``0``: parameters are bound by the server and repeated statements prepared
    (``server_side_binding``, ``prepare_threshold``), which saves the planner's time on every reader
    request. Set to ``1`` behind a transaction-mode pooler (PgBouncer), which cannot keep prepared statements.
``CSRF_TRUSTED_ORIGINS``
    Comma-separated origins (``https://health.example.org``) when forms are posted through another origin.
``SECURE_PROXY_SSL_HEADER``
    Set to ``1`` only when the site runs behind a proxy (nginx, a load balancer) that terminates TLS and
    always sets ``X-Forwarded-Proto`` itself, overwriting any value a client sent. Otherwise leave it unset:
    a client could claim HTTPS.
``SECURE_SSL_REDIRECT``
    Default ``1`` (Django redirects http to https). ``0`` when the proxy already redirects.
``SECURE_HSTS_SECONDS``
    Default one year. HSTS includes subdomains and asks for preloading: lower it while trying HTTPS out.
``MEDIA_ROOT``, ``STATIC_ROOT``, ``CACHE_DIR``
    Default under ``<project>/var/``.
``EMAIL_HOST``, ``EMAIL_PORT``, ``EMAIL_HOST_USER``, ``EMAIL_HOST_PASSWORD``, ``EMAIL_USE_TLS``, ``DEFAULT_FROM_EMAIL``, ``ADMINS``
    Outgoing mail; ``ADMINS`` is a comma-separated list of addresses that receive error reports,
    including healthlib's failed workflow emails and failed scheduled publications.
"""

import os

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from immunotherapy import csp
from immunotherapy.mail import mail_settings
from immunotherapy.settings import *  # noqa: F403
from immunotherapy.settings import BASE_DIR, INSTALLED_APPS, MIDDLEWARE


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or not value.strip():
        raise ImproperlyConfigured(f"Set the {name} environment variable (see immunotherapy/settings_production.py).")
    return value.strip()


def _flag(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in ("1", "true", "yes", "on")


def _list(name: str, default: str | None = None) -> list[str]:
    return [part.strip() for part in _env(name, default).split(",") if part.strip()]


DEBUG = False
# No demo accounts with a published password in production: load_demo refuses without it.
DEMO_PASSWORD = None
SECRET_KEY = _env("SECRET_KEY")
if SECRET_KEY.startswith("demo-only") or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters, not the demo key.")
ALLOWED_HOSTS = _list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = _list("CSRF_TRUSTED_ORIGINS", "") if os.environ.get("CSRF_TRUSTED_ORIGINS") else []

DATABASES = {
    "default": dj_database_url.parse(
        _env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not _flag("PG_BEHIND_POOLER", False):
    # Why, and when not: PG_BEHIND_POOLER in the docstring above.
    DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)

# HTTPS only: cookies never travel over plain http; browsers remember to use https (HSTS).
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
# markdownx's editor reads the CSRF cookie from JavaScript, so CSRF_COOKIE_HTTPONLY stays False
# (Django's documentation explains why that costs no security).
SECURE_SSL_REDIRECT = _flag("SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = int(_env("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
if _flag("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
# Article addresses say what a reader is worried about: never send them to other sites.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy: Django's own on Django 6.0+, django-csp before (immunotherapy/csp.py).
globals().update(csp.SETTINGS)
INSTALLED_APPS = [*INSTALLED_APPS, *csp.APPS]
_after = MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1
MIDDLEWARE = [*MIDDLEWARE[:_after], csp.MIDDLEWARE, *MIDDLEWARE[_after:]]

MEDIA_ROOT = _env("MEDIA_ROOT", str(BASE_DIR / "var" / "media"))
STATIC_ROOT = _env("STATIC_ROOT", str(BASE_DIR / "var" / "static"))
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": _env("CACHE_DIR", str(BASE_DIR / "var" / "cache")),
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
}
# Refuse request bodies over 10 MB before parsing them (the web server should cap them too).
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# MAILERS on Django 6.1+, EMAIL_* before (immunotherapy/mail.py); the environment names stay the same.
globals().update(
    mail_settings(
        "django.core.mail.backends.smtp.EmailBackend",
        host=os.environ.get("EMAIL_HOST", "localhost"),
        port=int(os.environ.get("EMAIL_PORT", "25")),
        username=os.environ.get("EMAIL_HOST_USER", ""),
        password=os.environ.get("EMAIL_HOST_PASSWORD", ""),
        use_tls=_flag("EMAIL_USE_TLS", False),
        timeout=10,
    )
)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "library@immunotherapy.example")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ADMINS = [("Site admin", address) for address in os.environ.get("ADMINS", "").split(",") if address.strip()]

# healthlib logs what failed after a change was committed (a workflow email that could not be
# sent, a scheduled publication that could not go live) at ERROR/WARNING on the "healthlib" logger:
# to the console (the process manager's log) and, for errors, by email to ADMINS.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "mail_admins": {"class": "django.utils.log.AdminEmailHandler", "level": "ERROR"},
    },
    "loggers": {
        "healthlib": {"handlers": ["console", "mail_admins"], "level": "INFO", "propagate": False},
        "django": {"handlers": ["console"], "level": "INFO"},
        "django.request": {"handlers": ["console", "mail_admins"], "level": "ERROR", "propagate": False},
    },
}
