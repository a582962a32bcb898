"""RSS and Atom feeds of newly published and newly re-reviewed articles.

An entry's date is its latest publication or review, and its id changes with each review,
so feed readers show a re-reviewed article again.
"""

from __future__ import annotations

import re
import uuid

from django.contrib.syndication.views import Feed
from django.db.models.functions import Coalesce, Greatest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape
from django.utils.translation import gettext as _

from healthlib.conf import healthlib_settings
from healthlib.templatetags.healthlib import review_date
from healthlib.views import live_articles

# Characters XML 1.0 cannot carry. Content text may hold some (only NUL is refused on input, and
# reviewer profiles are free text); Django's feed writer refuses them, which would make the feed a 500.
_NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(value: str) -> str:
    return _NOT_XML.sub("", value)


class LatestArticlesFeed(Feed):
    def title(self) -> str:
        return _("%(site)s: new and newly reviewed articles") % {"site": healthlib_settings.SITE_NAME}

    def description(self) -> str:
        return _("Articles published or medically re-reviewed most recently.")

    def link(self) -> str:
        return reverse("healthlib:home")

    def items(self):
        return (
            live_articles()
            .annotate(changed_at=Greatest("last_published_at", Coalesce("last_reviewed_at", "last_published_at")))
            .order_by("-changed_at", "slug")
            .only(
                "slug",
                "live_title",
                "live_summary",
                "live_reviewers",
                "first_published_at",
                "last_published_at",
                "last_reviewed_at",
            )[: healthlib_settings.FEED_ITEMS]
        )

    def item_title(self, item) -> str:
        # Feed readers render RSS titles as HTML: escape the plain-text title (Django's own default).
        return escape(_xml_text(item.live_title))

    def item_description(self, item) -> str:
        """HTML (RSS ``<description>``, Atom ``<summary type="html">``): the plain-text parts are escaped."""
        reviewers = "; ".join(
            ", ".join(part for part in (r.get("name"), r.get("credentials")) if part) for r in item.live_reviewers
        )
        line = _("Last reviewed on %(date)s") % {"date": review_date(item.last_reviewed_at)}
        if reviewers:
            line = _("Medically reviewed by %(names)s. %(line)s") % {"names": reviewers, "line": line}
        return _xml_text(f"{escape(item.live_summary)}\n\n{escape(line)}.")

    def item_link(self, item) -> str:
        return item.get_absolute_url()

    def item_guid(self, item) -> str:
        # A URN (valid as an RSS guid and an Atom id) that is new for every publication or review.
        return uuid.uuid5(uuid.NAMESPACE_URL, f"{item.get_absolute_url()}#{item.changed_at.isoformat()}").urn

    item_guid_is_permalink = False

    def item_pubdate(self, item):
        return item.changed_at

    def item_updateddate(self, item):
        return item.changed_at


class LatestArticlesAtomFeed(LatestArticlesFeed):
    feed_type = Atom1Feed

    def item_title(self, item) -> str:
        # An Atom <title> without a type is text: feed readers show it as written, never as HTML.
        return _xml_text(item.live_title)

    def subtitle(self) -> str:
        return self.description()
