from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path
from django.views.generic import RedirectView

from healthlib.editor_preview import serve_upload
from healthlib.sitemaps import SITEMAPS

urlpatterns = [
    path("", RedirectView.as_view(url="/health/", permanent=False)),
    path("health/", include("healthlib.urls")),
    path("sitemap.xml", sitemap, {"sitemaps": SITEMAPS}, name="sitemap"),
    path("admin/", admin.site.urls),
    path("markdownx/", include("healthlib.editor_preview")),
    # Uploaded images, with nosniff and a fixed image Content-Type. In production the web
    # server serves media/ with the same headers (README, "Deploying").
    path("media/healthlib/<str:name>", serve_upload, name="healthlib_upload"),
]
