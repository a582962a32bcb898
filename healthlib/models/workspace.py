"""Entries for the editors' workspace in the admin index: the review queue and the review-date dashboard.

They are proxies of :class:`ContentItem` with no table and no permissions of their own; they
exist so the admin can list "Review queue" and "Review dates" beside the content they serve.
The core never uses them.
"""

from django.utils.translation import gettext_lazy as _

from healthlib.models.content import ContentItem


class ReviewQueue(ContentItem):
    class Meta:
        proxy = True
        default_permissions = ()
        verbose_name = _("review queue")
        verbose_name_plural = _("review queue")


class ReviewDates(ContentItem):
    class Meta:
        proxy = True
        default_permissions = ()
        verbose_name = _("review dates")
        verbose_name_plural = _("review dates")
