"""healthlib.urls: odd reader addresses and query strings are a 404 or a 400, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

ODD_PATHS = [
    "/health/articles/%00/",
    "/health/articles/" + "a" * 5000 + "/",
    "/health/articles/%ff%fe/",
    "/health/articles/%C0%AF/",
    "/health/articles/..%2F..%2Fetc%2Fpasswd/",
    "/health/articles/caf%C3%A9/",
    "/health/articles/%E2%80%AEevil/",
    "/health/glossary/%00/",
    "/health/glossary/" + "b" * 5000 + "/",
    "/health/topics/%00/",
    "/health/topics/" + "c" * 5000 + "/",
    "/health/types/%00/",
    "/health/types/no-such-type/",
    "/health/articles/checkpoint-inhibitors/%00",
]
ODD_QUERIES = [
    "/health/search/?q=%00",
    "/health/search/?q=" + "x" * 20_000,
    "/health/search/?q=%ff%fe%00",
    "/health/search/?q=a&page=%00",
    "/health/search/?q=a&page=-1",
    "/health/search/?q=a&page=99999999999999999999999",
    "/health/search/?q=%22%27%3B--%20DROP%20TABLE",
    "/health/search/?q=NEAR(a%20b)%20OR%20*%20AND%20%22",
    "/health/glossary/?letter=%00",
    "/health/glossary/?letter=" + "z" * 5000,
    "/health/articles/?page=%00",
    "/health/articles/?page=99999999999999999999999",
    "/health/feeds/rss/?x=%00",
    "/health/?%00=%00",
]


@pytest.mark.parametrize("path", ODD_PATHS, ids=lambda p: p[:50])
def test_odd_reader_addresses_are_404_not_500(published_article, path):
    client = Client(raise_request_exception=False)
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ODD_QUERIES, ids=lambda p: p[:50])
def test_odd_query_strings_never_500(published_article, path):
    client = Client(raise_request_exception=False)
    assert client.get(path).status_code in (200, 400, 404)


@pytest.mark.parametrize("pk", ["99999999999999999999999", "9223372036854775808", "0"])
def test_staff_preview_of_an_out_of_range_revision_is_404(client, editor, pk):
    client.force_login(editor)
    client.raise_request_exception = False
    assert client.get(f"/health/preview/revision/{pk}/").status_code == 404
    # Beyond 64 bits was an OverflowError on SQLite (tests/test_request_ids.py covers the class).
    assert client.get(f"/admin/healthlib/article/{pk}/change/").status_code in (302, 404)
