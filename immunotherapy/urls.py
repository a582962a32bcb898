from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/health/", permanent=False)),
    path("health/", include("healthlib.urls")),
    path("admin/", admin.site.urls),
    path("markdownx/", include("healthlib.editor_preview")),
]
