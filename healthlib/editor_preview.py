"""Staff-only replacements for django-markdownx's preview and upload views.

markdownx's own views accept anonymous requests and its default preview does not
sanitize. Include these URLs at the path the markdownx widget posts to::

    path("markdownx/", include("healthlib.editor_preview")),
"""

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import path
from django.views.decorators.http import require_POST
from markdownx.views import ImageUploadView

from healthlib.markup import render_markdown

EDITOR_PERMISSIONS = ("healthlib.edit_content", "healthlib.review_content")


def _require_editor(request: HttpRequest) -> None:
    user = request.user
    if not (user.is_authenticated and user.is_staff and any(user.has_perm(p) for p in EDITOR_PERMISSIONS)):
        raise PermissionDenied("Only editors and medical reviewers may use the editor preview.")


@require_POST
def markdownify(request: HttpRequest) -> HttpResponse:
    """Render the editor's markdown through the one sanitizing pipeline."""
    _require_editor(request)
    content = request.POST.get("content")
    if content is None:
        return HttpResponseBadRequest("Missing 'content'.")
    return HttpResponse(render_markdown(content), content_type="text/html; charset=utf-8")


class UploadView(ImageUploadView):
    http_method_names = ["post"]

    def dispatch(self, request, *args, **kwargs):
        _require_editor(request)
        if not request.user.has_perm("healthlib.edit_content"):
            raise PermissionDenied("Only editors may upload images.")
        return super().dispatch(request, *args, **kwargs)


urlpatterns = [
    path("markdownify/", markdownify, name="markdownx_markdownify"),
    path("upload/", UploadView.as_view(), name="markdownx_upload"),
]
