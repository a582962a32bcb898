import pytest

from tests.conftest import make_user

URL = "/markdownx/markdownify/"


def test_preview_refuses_anonymous(client, db):
    assert client.post(URL, {"content": "hi"}).status_code == 403


def test_preview_refuses_users_without_editorial_permission(client, nobody):
    client.force_login(nobody)
    assert client.post(URL, {"content": "hi"}).status_code == 403


def test_preview_refuses_non_staff_even_with_permission(client, db):
    user = make_user("editor_not_staff", "Editors")
    user.is_staff = False
    user.save()
    client.force_login(user)
    assert client.post(URL, {"content": "hi"}).status_code == 403


@pytest.mark.parametrize("who", ["editor", "reviewer"])
def test_preview_is_sanitized_for_editors_and_reviewers(client, request, who):
    client.force_login(request.getfixturevalue(who))
    response = client.post(URL, {"content": "## Hi\n\n<script>alert(1)</script><img src=x onerror=alert(1)>"})
    assert response.status_code == 200
    body = response.content.decode()
    assert '<h2 id="hi">Hi</h2>' in body
    assert "<script" not in body and "onerror" not in body


def test_preview_needs_content(client, editor):
    client.force_login(editor)
    assert client.post(URL, {}).status_code == 400


def test_preview_rejects_get(client, editor):
    client.force_login(editor)
    assert client.get(URL).status_code == 405


def test_upload_refuses_anonymous_and_reviewers(client, reviewer, db):
    assert client.post("/markdownx/upload/").status_code == 403
    client.force_login(reviewer)
    assert client.post("/markdownx/upload/").status_code == 403
