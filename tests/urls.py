from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path

from healthlib.sitemaps import SITEMAPS

urlpatterns = [
    path("health/", include("healthlib.urls")),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("admin/", admin.site.urls),
    path("markdownx/", include("healthlib.editor_preview")),
]
