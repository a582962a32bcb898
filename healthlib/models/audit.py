"""The append-only audit log: one event per workflow transition."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from healthlib.models.append_only import AppendOnlyModel
from healthlib.models.content import State


class WorkflowEvent(AppendOnlyModel):
    item = models.ForeignKey(
        "healthlib.ContentItem", on_delete=models.PROTECT, related_name="events", verbose_name=_("item")
    )
    revision = models.ForeignKey(
        "healthlib.Revision", null=True, on_delete=models.PROTECT, related_name="events", verbose_name=_("revision")
    )
    action = models.CharField(_("action"), max_length=64, help_text=_('Namespaced name, e.g. "healthlib.publish".'))
    from_state = models.CharField(_("from state"), max_length=20, choices=State.choices, blank=True)
    to_state = models.CharField(_("to state"), max_length=20, choices=State.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("actor")
    )
    actor_name = models.CharField(_("actor name"), max_length=300)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("workflow event")
        verbose_name_plural = _("workflow events")
        ordering = ["-created_at", "-id"]
        # "Did this user submit this revision?" (the review queue), answered from the index alone.
        indexes = [models.Index(fields=["actor", "action", "revision"], name="healthlib_event_actor_action")]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_name}"
