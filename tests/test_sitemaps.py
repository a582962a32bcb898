"""healthlib.sitemaps: the sitemap parses as XML and lists live content only."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests import reader_fixtures

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def test_sitemap_parses_and_has_lastmod_from_review_dates(wf, client, library, reviewer2):
    review = wf.reaffirm(library["article"], reviewer2)
    response = client.get("/health/sitemap.xml")
    root = ET.fromstring(response.content)
    entries = {
        url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod") for url in root.findall(f"{SITEMAP}url")
    }
    assert entries["http://testserver/health/articles/checkpoint-inhibitors/"] == review.reviewed_at.date().isoformat()
    article = library["other"]
    assert entries["http://testserver/health/articles/car-t-cell-therapy/"] == (
        max(article.last_published_at, article.last_reviewed_at).date().isoformat()
    )
    assert "http://testserver/health/glossary/t-cell/" in entries
    assert "http://testserver/health/topics/treatment-types/" in entries
    assert "http://testserver/health/" in entries
    # Policy pages are real pages: they belong in the sitemap even though listings leave them out.
    assert "http://testserver/health/articles/editorial-process/" in entries


def test_sitemap_leaves_out_archived_content(wf, client, library, editor):
    wf.archive(library["article"], editor)
    wf.archive(library["term"], editor)
    root = ET.fromstring(client.get("/health/sitemap.xml").content)
    locations = [url.findtext(f"{SITEMAP}loc") for url in root.findall(f"{SITEMAP}url")]
    assert not any("checkpoint-inhibitors" in loc or "t-cell/" in loc for loc in locations)
