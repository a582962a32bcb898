"""schema.org JSON-LD for reader pages, and its safe embedding in HTML.

Built from the live fields only; nothing here touches the database beyond what the caller
already loaded.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from healthlib.conf import healthlib_settings

# Escapes that keep JSON inert inside <script>: "</script>", "<!--" and "&" cannot appear.
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def json_ld_script(data: dict[str, Any]) -> SafeString:
    """``<script type="application/ld+json">`` holding ``data``, safe whatever the strings contain."""
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
    return mark_safe(f'<script type="application/ld+json">{text.translate(_SCRIPT_ESCAPES)}</script>')


def _iso_date(value) -> str | None:
    return value.date().isoformat() if hasattr(value, "date") and callable(value.date) else None


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def publisher(home_url: str) -> dict[str, Any]:
    return {"@type": "Organization", "name": healthlib_settings.PUBLISHER, "url": home_url}


def reviewer(entry: dict[str, str]) -> dict[str, Any]:
    """A reviewer snapshot ({name, credentials}) as a schema.org Person with their credentials."""
    person: dict[str, Any] = {"@type": "Person", "name": entry.get("name", "")}
    credentials = entry.get("credentials", "")
    if credentials:
        person["honorificSuffix"] = credentials
        person["hasCredential"] = {"@type": "EducationalOccupationalCredential", "name": credentials}
    return person


def defined_term(term, *, url: str, set_url: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "@type": "DefinedTerm",
        "name": term.live_term,
        "description": term.live_short_definition,
        "url": url,
        "termCode": term.slug,
        "inDefinedTermSet": set_url,
    }
    if getattr(term, "live_aliases", None):
        data["alternateName"] = list(term.live_aliases)
    return data


def article_page(
    article,
    *,
    url: str,
    home_url: str,
    glossary_url: str,
    topics: Iterable[tuple[str, str]],
    mentions: Iterable[tuple[Any, str]],
) -> dict[str, Any]:
    """``MedicalWebPage`` for a live article.

    ``topics`` are (name, absolute url) pairs; ``mentions`` are (GlossaryTerm, absolute url) pairs.
    """
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "@id": url,
        "url": url,
        "name": article.live_title,
        "headline": article.live_title,
        "description": article.live_summary,
        "inLanguage": settings.LANGUAGE_CODE,
        "datePublished": _iso(article.first_published_at),
        "dateModified": _iso(max(filter(None, [article.last_published_at, article.last_reviewed_at]), default=None)),
        "lastReviewed": _iso_date(article.last_reviewed_at),
        "reviewedBy": [reviewer(entry) for entry in article.live_reviewers],
        "medicalAudience": {"@type": "Patient"},
        "about": [{"@type": "Thing", "name": name, "url": topic_url} for name, topic_url in topics],
        "citation": [_citation(ref) for ref in article.live_references],
        "mentions": [defined_term(term, url=term_url, set_url=glossary_url) for term, term_url in mentions],
        "publisher": publisher(home_url),
        "isPartOf": {"@type": "WebSite", "name": healthlib_settings.SITE_NAME, "url": home_url},
    }
    return {key: value for key, value in data.items() if value not in (None, [], "")}


def _citation(ref: dict[str, Any]) -> dict[str, Any]:
    citation: dict[str, Any] = {"@type": "CreativeWork", "name": ref.get("title", "")}
    if ref.get("url"):
        citation["url"] = ref["url"]
    if ref.get("publisher"):
        citation["publisher"] = {"@type": "Organization", "name": ref["publisher"]}
    if ref.get("year"):
        citation["datePublished"] = str(ref["year"])
    return citation


def term_page(term, *, url: str, glossary_url: str, home_url: str) -> dict[str, Any]:
    data = defined_term(term, url=url, set_url=glossary_url)
    data["inDefinedTermSet"] = {
        "@type": "DefinedTermSet",
        "@id": glossary_url,
        "name": _glossary_name(),
        "url": glossary_url,
    }
    return {"@context": "https://schema.org", **data, "@id": url}


def glossary_set(terms: Iterable[tuple[Any, str]], *, url: str, home_url: str) -> dict[str, Any]:
    return {
        "@context": "https://schema.org",
        "@type": "DefinedTermSet",
        "@id": url,
        "name": _glossary_name(),
        "url": url,
        "publisher": publisher(home_url),
        "hasDefinedTerm": [
            {"@type": "DefinedTerm", "name": term.live_term, "url": term_url, "description": term.live_short_definition}
            for term, term_url in terms
        ],
    }


def _glossary_name() -> str:
    return gettext("%(site)s glossary") % {"site": healthlib_settings.SITE_NAME}


def review_trail(article, reviews, *, url: str, article_url: str, home_url: str) -> dict[str, Any]:
    """A ``WebPage`` about the live article whose main entity is the list of its reviews (newest first).

    Each review names the revision it approved and that revision's SHA-256 content hash, so a
    machine can check the hash as a person can.
    """
    items = []
    for position, review in enumerate(reviews, start=1):
        entry: dict[str, Any] = {
            "@type": "Review",
            "name": str(review.get_decision_display()),
            "datePublished": _iso(review.reviewed_at),
            "author": reviewer({"name": review.reviewer_name, "credentials": review.reviewer_credentials}),
            "itemReviewed": {
                "@type": "MedicalWebPage",
                "@id": article_url,
                "name": review.revision.title,
                "version": str(review.revision.number),
                "identifier": {"@type": "PropertyValue", "propertyID": "sha256", "value": review.content_hash},
            },
        }
        if review.change_summary:
            entry["reviewBody"] = review.change_summary
        items.append({"@type": "ListItem", "position": position, "item": entry})
    return {
        "@context": "https://schema.org",
        "@type": "WebPage",
        "@id": url,
        "url": url,
        "name": gettext("Review history: %(title)s") % {"title": article.live_title},
        "inLanguage": settings.LANGUAGE_CODE,
        "about": {"@type": "MedicalWebPage", "@id": article_url, "url": article_url, "name": article.live_title},
        "mainEntity": {"@type": "ItemList", "numberOfItems": len(items), "itemListElement": items},
        "publisher": publisher(home_url),
        "isPartOf": {"@type": "WebSite", "name": healthlib_settings.SITE_NAME, "url": home_url},
    }
