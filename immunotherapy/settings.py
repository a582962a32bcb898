"""Settings for the immunotherapy demo site. Not for production."""

from pathlib import Path

from immunotherapy.mail import mail_settings

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "demo-only-not-secret-change-me-in-production-0123456789"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "markdownx",
    "healthlib",
    "immunotherapy",
]

MIDDLEWARE = [
    # Serves cached reader pages to anonymous visitors before the rest of the stack (healthlib.cache).
    "healthlib.cache.PageCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Refuses form posts that are not valid UTF-8 (after the CSRF check, so forgeries stay 403).
    "healthlib.form_encoding.StrictFormEncodingMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "immunotherapy.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "immunotherapy.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/New_York"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_URL = "media/"
MEDIA_ROOT = BASE_DIR / "var" / "media"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

globals().update(mail_settings("django.core.mail.backends.console.EmailBackend"))
DEFAULT_FROM_EMAIL = "library@immunotherapy.example"

MARKDOWNX_MARKDOWNIFY_FUNCTION = "healthlib.markup.render_markdown"
MARKDOWNX_UPLOAD_CONTENT_TYPES = ["image/jpeg", "image/png", "image/webp"]
MARKDOWNX_UPLOAD_MAX_SIZE = 5 * 1024 * 1024

HEALTHLIB = {
    "SITE_NAME": "Immunotherapy Health Library",
    "PUBLISHER": "Immunotherapy Health Library (demo)",
    "REVIEW_INTERVAL_DAYS": 365,
    # A house placeholder (templates/healthlib/ad_slot.html) after the second section and at the end.
    "AD_SLOTS": ["after_section_2", "end"],
}

# The page cache must be shared by every worker process, or a publish would only invalidate the
# pages cached by the worker that handled it. A file-based cache under var/ is shared by all
# processes on this machine and needs no extra service; a site on several machines would use
# Redis or memcached (or DatabaseCache) instead.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": BASE_DIR / "var" / "cache",
        "OPTIONS": {"MAX_ENTRIES": 5000},
    }
}

# Demo accounts exist only in the demo: see immunotherapy/demo.py.
DEMO_PASSWORD = "healthlib-demo"
