"""What every healthlib admin shares: checked ids, links to an item's admin pages, and refusals.

A refusal in the normal form flow is a message and a redirect back, with nothing changed; a client
that asks for JSON only (``Accept: application/json``) gets the error's own status instead.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import BadRequest
from django.http import HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from healthlib.models import Kind
from healthlib.request_ids import IdModelMultipleChoiceField, parse_id

#: "Due soon" on the changelists and the review-dates page, and "soon" for reviewers' credentials.
DUE_SOON_DAYS = 30


def admin_url(item, view: str = "change", *args) -> str:
    """The admin page ``view`` of an article or glossary term (``"workflow", action`` for an action)."""
    model = "article" if item.kind == Kind.ARTICLE else "glossaryterm"
    return reverse(f"admin:healthlib_{model}_{view}", args=[item.pk, *args])


def wants_json(request) -> bool:
    return request.accepts("application/json") and not request.accepts("text/html")


def safe_next(request) -> str | None:
    """The posted ``next`` address when it is on this site, else None."""
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return None


def refused(request, back: str, message: str, status: int):
    """A refusal in the normal form flow: say why, change nothing, go back (JSON clients get the status)."""
    if wants_json(request):
        return JsonResponse({"ok": False, "error": str(message)}, status=status)
    messages.error(request, message)
    return HttpResponseRedirect(back)


def form_errors(form) -> str:
    """A bound form's errors as one line, for :func:`refused`."""
    return "; ".join(str(e) for errs in form.errors.values() for e in errs)


class IdCheckingAdmin(admin.ModelAdmin):
    """The ids Django's admin reads without checking them, read through :mod:`healthlib.request_ids`.

    Ids in change URLs are Django's (the model field's ``to_python`` and range-checked lookups;
    see ``healthlib.models.content._InRangeExact`` for Article and GlossaryTerm). Three places
    were 500s:

    * ``?_to_field=`` left empty: Django looked up a field named "" (it means no field);
    * posted many-to-many choices and the changelist's selected rows are ``pk__in`` lookups,
      which Django does not range-check: an id beyond 64 bits was an OverflowError on SQLite,
      and a selected row that is not a number a ValueError.
    """

    def get_object(self, request, object_id, from_field=None):
        return super().get_object(request, object_id, from_field or None)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("form_class", IdModelMultipleChoiceField)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def response_action(self, request, queryset, **kwargs):
        # **kwargs: Django 6.1 passes where the action was chosen (action_location).
        if any(parse_id(pk) is None for pk in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)):
            raise BadRequest(_("The selected rows are not ids."))
        return super().response_action(request, queryset, **kwargs)


class ReadOnlyAdmin(IdCheckingAdmin):
    """Revisions, reviews and audit events are append-only: the admin only shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
