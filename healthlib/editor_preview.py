"""Staff-only replacements for django-markdownx's preview and upload views.

markdownx's own views accept anonymous requests, its default preview does not sanitize
and its upload keeps whatever the browser claims a file is. Include these URLs at the
path the markdownx widget posts to::

    path("markdownx/", include("healthlib.editor_preview")),

Uploaded images are checked by their content (Pillow decodes them; only JPEG, PNG and
WebP pass), re-encoded (which drops metadata, comments and anything appended to the
file), and stored under ``MEDIA_ROOT/healthlib/`` with a random name and an extension
chosen from the verified format, never the name the browser sent.
"""

from __future__ import annotations

import io
import re
import uuid
import warnings

from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    JsonResponse,
)
from django.template.defaultfilters import filesizeformat
from django.urls import path
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from healthlib.conf import healthlib_settings
from healthlib.exceptions import MarkdownTooComplex
from healthlib.markup import render_markdown
from healthlib.roles import EDIT, REVIEW

EDITOR_PERMISSIONS = (EDIT, REVIEW)

#: Pillow format -> (file extension, Content-Type). The only images editors may upload.
IMAGE_FORMATS = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "WEBP": ("webp", "image/webp"),
}
UPLOAD_DIR = "healthlib"
#: Larger images are refused before decoding them fully (decompression bombs).
MAX_IMAGE_PIXELS = 40_000_000
_STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")


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
    try:
        html = render_markdown(content)
    except MarkdownTooComplex as exc:
        # The widget shows the answer in the preview pane: the editor sees why instead of a stale preview.
        return HttpResponse(
            format_html("<p><strong>{}</strong></p>", exc.message),
            status=exc.status_code,
            content_type="text/html; charset=utf-8",
        )
    return HttpResponse(html, content_type="text/html; charset=utf-8")


class UploadRefused(Exception):
    """The upload is not an image healthlib accepts; the message says why."""


def verified_image(data: bytes) -> tuple[bytes, str]:
    """Decode ``data`` and re-encode it; return the new bytes and the Pillow format.

    Raises :class:`UploadRefused` for anything that is not a well-formed JPEG, PNG or
    WebP image (SVG, HTML, GIF, truncated files, images too large to decode safely).
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns before it refuses a decompression bomb; refuse at the warning.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS)) as probe:
                image_format = probe.format
                if probe.width * probe.height > MAX_IMAGE_PIXELS:
                    raise UploadRefused(_("The image is too large (at most %(n)d pixels).") % {"n": MAX_IMAGE_PIXELS})
                probe.verify()
            # verify() leaves the image unusable: open again to decode every pixel.
            with Image.open(io.BytesIO(data), formats=[image_format]) as image:
                image.load()
                return _reencode(image, image_format), image_format
    except UploadRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRefused(_("The image is too large (at most %(n)d pixels).") % {"n": MAX_IMAGE_PIXELS}) from None
    except UnidentifiedImageError:
        raise UploadRefused(_("Upload a JPEG, PNG or WebP image.")) from None
    except (OSError, SyntaxError, ValueError, EOFError):  # truncated or corrupt data
        raise UploadRefused(_("The image file is damaged or incomplete.")) from None


def _reencode(image, image_format: str) -> bytes:
    """Save a fresh copy: pixels only, no metadata, comments or trailing bytes."""
    out = io.BytesIO()
    # Pillow writes some of what it read (comments, EXIF, ICC profiles) back out unless told not to.
    image.info = {key: value for key, value in image.info.items() if key == "transparency"}
    if image_format == "JPEG":
        if image.mode not in ("RGB", "L", "CMYK"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=90, optimize=True)
    elif image_format == "PNG":
        if image.mode not in ("1", "L", "LA", "P", "RGB", "RGBA", "I", "I;16"):
            image = image.convert("RGBA")
        image.save(out, "PNG", optimize=True)
    else:
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA")
        image.save(out, "WEBP", quality=90)
    return out.getvalue()


def _refuse(message: str, status: int = 400) -> JsonResponse:
    # The same shape markdownx's own upload view uses for form errors.
    return JsonResponse({"image": [message]}, status=status)


@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    """Store an editor's image upload; answer with the markdown that shows it, as markdownx expects."""
    _require_editor(request)
    if not request.user.has_perm(EDIT):
        raise PermissionDenied("Only editors may upload images.")
    uploaded = request.FILES.get("image")
    if uploaded is None:
        return _refuse(_("Choose an image to upload."))
    limit = healthlib_settings.MAX_UPLOAD_BYTES
    if uploaded.size > limit:
        return _refuse(
            _("The file is %(size)s; images may be at most %(limit)s.")
            % {"size": filesizeformat(uploaded.size), "limit": filesizeformat(limit)}
        )
    try:
        data, image_format = verified_image(uploaded.read())
    except UploadRefused as refused:
        return _refuse(str(refused))
    extension = IMAGE_FORMATS[image_format][0]
    name = default_storage.save(f"{UPLOAD_DIR}/{uuid.uuid4().hex}.{extension}", ContentFile(data))
    return JsonResponse({"image_code": f"![]({default_storage.url(name)})"})


@require_GET
def serve_upload(request: HttpRequest, name: str) -> FileResponse:
    """Serve an uploaded image with a fixed image Content-Type and ``nosniff``.

    For sites that let Django serve ``MEDIA_URL`` (the demo does): only names this
    module created are served, so nothing else under MEDIA_ROOT leaks. In production a
    web server serves media; give it the same headers (see the README).
    """
    match = _STORED_NAME.match(name)
    if match is None:
        raise Http404
    stored = f"{UPLOAD_DIR}/{name}"
    try:
        handle = default_storage.open(stored, "rb")
    except (FileNotFoundError, OSError):
        raise Http404 from None
    content_type = {ext: ctype for ext, ctype in IMAGE_FORMATS.values()}[match.group(1)]
    response = FileResponse(handle, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    # Opened directly, an image needs nothing else; a sandbox stops any script it might carry.
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


urlpatterns = [
    path("markdownify/", markdownify, name="markdownx_markdownify"),
    path("upload/", upload, name="markdownx_upload"),
]
