"""Form posts that are not valid UTF-8 are refused, not saved damaged (issue 17, finding 13)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse

from healthlib.models import Revision, WorkflowEvent
from tests.admin_pages import change_url, form_data, snapshot

MESSAGE = "The form was sent with text that is not valid UTF-8, so nothing was saved."
URLENCODED = "application/x-www-form-urlencoded"


def urlencoded(data: dict, *, body: bytes) -> bytes:
    """``data`` form-encoded, with ``body`` (raw bytes, perhaps invalid) as the article body."""
    pairs = []
    for key, value in data.items():
        for one in value if isinstance(value, list) else [value]:
            pairs.append(f"{quote(key)}={quote(str(one))}".encode())
    return b"&".join([*pairs, b"body=" + body])


def multipart(data: dict, *, body: bytes, boundary: str = "XyZ") -> bytes:
    parts = []
    for key, value in data.items():
        for one in value if isinstance(value, list) else [value]:
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{one}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="body"\r\n\r\n'.encode() + body + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode()


def fields(article) -> dict:
    data = form_data(article)
    del data["body"]
    return data


INVALID = {
    "percent-escaped invalid byte": (URLENCODED, b"Dose%FFmg"),
    "percent-escaped truncated sequence": (URLENCODED, b"caf%C3"),
    "percent-escaped surrogate": (URLENCODED, b"%ED%A0%80"),
    "raw invalid byte": (URLENCODED, b"Dose\xffmg"),
    "raw Latin-1 text": (URLENCODED, "café".encode("latin-1")),
    "multipart invalid byte": ("multipart", b"Dose\xffmg"),
    "multipart overlong encoding": ("multipart", b"\xc0\xafetc"),
}


def post(client: Client, url: str, kind: str, data: dict, body: bytes, **extra):
    if kind == URLENCODED:
        return client.generic("POST", url, urlencoded(data, body=body), content_type=URLENCODED, **extra)
    content_type = "multipart/form-data; boundary=XyZ"
    return client.generic("POST", url, multipart(data, body=body), content_type=content_type, **extra)


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_utf8_in_a_form_post_is_refused_and_saves_nothing(client, article, editor, case):
    kind, body = INVALID[case]
    client.force_login(editor)
    before = snapshot(article)
    response = post(client, change_url(article), kind, fields(article), body)
    assert response.status_code == 400
    assert MESSAGE in response.content.decode()
    assert snapshot(article) == before


def test_json_clients_get_the_reason_as_json(client, article, editor):
    client.force_login(editor)
    url = reverse("admin:healthlib_article_workflow", args=[article.pk, "submit"])
    data = {"revision": article.latest_revision_id}
    response = post(client, url, URLENCODED, data, b"%FF", HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert response.json()["ok"] is False and response.json()["error"].startswith(MESSAGE)
    assert not WorkflowEvent.objects.filter(action="healthlib.submit").exists()


@pytest.mark.parametrize("kind", [URLENCODED, "multipart"])
@pytest.mark.parametrize("text", ["Dose 5 mg", "Café, naïve, 日本語, emoji 🙂"])
def test_valid_utf8_is_saved_as_sent(client, article, editor, kind, text):
    client.force_login(editor)
    raw = quote(text).encode() if kind == URLENCODED else text.encode()
    response = post(client, change_url(article), kind, fields(article), raw)
    assert response.status_code == 302, response.content.decode()[:2000]
    article.refresh_from_db()
    assert Revision.objects.get(pk=article.latest_revision_id).content["body"] == text


def test_raw_utf8_bytes_are_accepted_too(client, article, editor):
    # Browsers percent-encode, but a script may send the bytes as they are: valid UTF-8 is fine.
    client.force_login(editor)
    response = post(client, change_url(article), URLENCODED, fields(article), "Café".encode())
    assert response.status_code == 302


def test_a_forged_post_is_still_a_csrf_failure(article, editor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    response = post(client, change_url(article), URLENCODED, fields(article), b"%FF")
    assert response.status_code == 403
