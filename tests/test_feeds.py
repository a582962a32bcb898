"""healthlib.feeds: the RSS and Atom feeds parse as XML and list live content only."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests import reader_fixtures

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

ATOM = "{http://www.w3.org/2005/Atom}"


def test_rss_feed_parses_and_lists_live_non_policy_articles(client, library):
    response = client.get("/health/feeds/rss/")
    assert response["Content-Type"].startswith("application/rss+xml")
    root = ET.fromstring(response.content)
    items = root.findall("./channel/item")
    links = [item.findtext("link") for item in items]
    assert "http://testserver/health/articles/checkpoint-inhibitors/" in links
    assert not any("editorial-process" in link for link in links)
    first = items[0]
    assert "Medically reviewed by Reviewer, MD" in first.findtext("description")
    assert first.findtext("pubDate")


def test_atom_feed_parses_and_shows_re_reviewed_articles_first(wf, client, library, reviewer2):
    before = ET.fromstring(client.get("/health/feeds/atom/").content)
    ids_before = {entry.findtext(f"{ATOM}id") for entry in before.findall(f"{ATOM}entry")}
    wf.reaffirm(library["other"], reviewer2)
    root = ET.fromstring(client.get("/health/feeds/atom/").content)
    entries = root.findall(f"{ATOM}entry")
    assert entries[0].find(f"{ATOM}link").get("href").endswith("/health/articles/car-t-cell-therapy/")
    assert "Reviewer2, PharmD" in entries[0].findtext(f"{ATOM}summary")
    # A re-reviewed article gets a new entry id, so feed readers show it again.
    assert entries[0].findtext(f"{ATOM}id") not in ids_before


def test_feeds_leave_out_archived_articles(wf, client, library, editor):
    wf.archive(library["article"], editor)
    for url in ("/health/feeds/rss/", "/health/feeds/atom/"):
        assert b"checkpoint-inhibitors" not in client.get(url).content
