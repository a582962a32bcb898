"""Refuse form posts whose text is not valid UTF-8, instead of storing it damaged.

Django decodes form data leniently: an invalid byte sequence becomes U+FFFD (the replacement
character), and a body that is not UTF-8 at all is read as Latin-1. Either way an editor's text
would be saved silently altered. :class:`StrictFormEncodingMiddleware` answers such a post with
400 and a message that says why, before any view sees it. Add it to ``MIDDLEWARE`` after
``CsrfViewMiddleware`` (so an invalid CSRF token is still reported as such).

The check: an urlencoded body must decode as UTF-8, and no field name, value or file name may
contain U+FFFD, which is what Django makes of invalid bytes (a multipart post keeps no raw body
to re-read). Typed text never needs that character: it only marks text damaged somewhere else.
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

REPLACEMENT = "\ufffd"
URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"


def damaged(request) -> bool:
    """True when the form data of ``request`` is not valid UTF-8 (or carries text damaged by a wrong decoding)."""
    if request.method != "POST" or request.content_type not in (URLENCODED, MULTIPART):
        return False
    # Read through Django first, so its own limits (size, number of fields) apply and answer 400 as usual.
    fields = request.POST
    if request.content_type == URLENCODED:
        try:
            request.body.decode("utf-8")
        except UnicodeDecodeError:
            return True
    names = [*fields.keys(), *request.FILES.keys(), *(f.name or "" for f in request.FILES.values())]
    return any(REPLACEMENT in text for text in [*names, *(v for values in fields.lists() for v in values[1])])


class StrictFormEncodingMiddleware:
    """Answer 400 to a form post that is not valid UTF-8; nothing behind it runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # After CsrfViewMiddleware.process_view (listed before this one), so a forged post is still a 403.
        if not damaged(request):
            return None
        message = _(
            "The form was sent with text that is not valid UTF-8, so nothing was saved. "
            "Paste the text again as plain text, or send it from a current browser."
        )
        if request.accepts("application/json") and not request.accepts("text/html"):
            return JsonResponse({"ok": False, "error": message}, status=400)
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
