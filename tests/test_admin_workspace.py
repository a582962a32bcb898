"""healthlib.admin.workspace: what the change form shows around the fields (readability, checklist, presence)."""

from __future__ import annotations

from tests.admin_pages import (
    _clear_cache,  # noqa: F401 (an autouse fixture: the presence notices live in the cache)
    change_url,
)

# ---------------------------------------------------------------- readability, checklist and presence


def test_change_form_shows_readability_and_checklist(client, article, editor):
    client.force_login(editor)
    page = client.get(change_url(article)).content.decode()
    grade = article.latest_revision.readability_grade
    assert f'<span class="healthlib-grade">{grade}</span>' in page
    assert "minute read" in page
    assert 'data-check="summary"' in page


def test_presence_notice(client, article, editor, editor2):
    editor2.first_name = "Dana"
    editor2.save()
    client.force_login(editor2)
    client.get(change_url(article))
    client.force_login(editor)
    page = client.get(change_url(article)).content.decode()
    assert "Dana (editor2) opened this draft" in page
    client.force_login(editor2)
    page = client.get(change_url(article)).content.decode()
    assert "editor opened this draft just now" in page
    assert "Dana (editor2) opened" not in page


def test_presence_notice_says_how_long_ago(client, article, editor, editor2):
    import datetime

    from django.utils import timezone

    from healthlib import presence

    editor2.first_name = "Dana"
    editor2.save()
    presence.touch(article.pk, editor2, now=timezone.now() - datetime.timedelta(minutes=2, seconds=5))
    client.force_login(editor)
    page = client.get(change_url(article)).content.decode()
    assert "Dana (editor2) opened this draft 2\xa0minutes ago." in page


# ---------------------------------------------------------------- read-only visitors


def test_read_only_visitors_are_not_counted_as_editing(client, published_article, editor, reviewer):
    client.force_login(reviewer)
    page = client.get(change_url(published_article)).content.decode()
    assert "Readers see revision 1" in page and "Saving makes a new draft" not in page
    client.force_login(editor)
    page = client.get(change_url(published_article)).content.decode()
    assert "opened this draft" not in page
