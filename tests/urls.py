from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("health/", include("healthlib.urls")),
    path("admin/", admin.site.urls),
    path("markdownx/", include("healthlib.editor_preview")),
]
