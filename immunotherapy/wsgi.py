import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "immunotherapy.settings")

from healthlib.cache import CachedPagesWSGI  # noqa: E402  (needs the settings module)

# Pages PageCacheMiddleware has served are answered from memory without building a Django request.
application = CachedPagesWSGI(get_wsgi_application())
