"""WSGI application for the gunicorn workers of ``make stress``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.stress.settings")
application = get_wsgi_application()
