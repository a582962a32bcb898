"""healthlib.admin.filters: the changelist's filters."""

from __future__ import annotations

from django.urls import reverse

from healthlib.models import Article
from tests.admin_pages import (
    _clear_cache,  # noqa: F401 (an autouse fixture: the presence notices live in the cache)
)


def test_changelist_columns_and_filters(client, published_article, article, editor, reviewer):
    client.force_login(editor)
    url = reverse("admin:healthlib_article_changelist")
    page = client.get(url).content.decode()
    for heading in ["Working title", "Article type", "Workflow state", "Last reviewed", "Next review due"]:
        assert heading in page
    assert client.get(url, {"reviewer": reviewer.pk}).context["cl"].result_count == 1
    assert client.get(url, {"overdue": "yes"}).context["cl"].result_count == 0
    Article.objects.filter(pk=published_article.pk).update(next_review_due="2000-01-01")
    assert client.get(url, {"overdue": "yes"}).context["cl"].result_count == 1
    assert client.get(url, {"due_soon": "yes"}).context["cl"].result_count == 0
    assert client.get(url, {"state__exact": "published"}).context["cl"].result_count == 1
