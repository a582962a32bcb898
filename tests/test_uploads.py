"""Image uploads through the markdown editor: verified by content, re-encoded, random names, staff only."""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import RequestFactory, override_settings
from django.urls import resolve
from PIL import Image

from healthlib.editor_preview import serve_upload
from tests.conftest import make_user

URL = "/markdownx/upload/"
STORED = re.compile(r"^!\[\]\(/media/healthlib/([0-9a-f]{32})\.(jpg|png|webp)\)$")


def image_bytes(fmt: str, size=(8, 6), mode="RGB", **save) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else 128).save(out, fmt, **save)
    return out.getvalue()


PNG = image_bytes("PNG")
SCRIPT = b"<script>window.pwned=1</script>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(1)</script></svg>'
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"

# Not images healthlib accepts, each dressed up as one: (file name, claimed content type, bytes).
DISGUISED = {
    "svg named png": ("chart.png", "image/png", SVG),
    "svg as svg": ("chart.svg", "image/svg+xml", SVG),
    "html named jpg": ("photo.jpg", "image/jpeg", HTML),
    "html after a png signature": ("x.png", "image/png", b"\x89PNG\r\n\x1a\n" + HTML),
    "html after a jpeg marker": ("x.jpg", "image/jpeg", b"\xff\xd8\xff\xe0" + HTML),
    "riff webp header then html": ("x.webp", "image/webp", b"RIFF\x24\x00\x00\x00WEBPVP8 " + HTML),
    "truncated png": ("x.png", "image/png", PNG[: len(PNG) // 2]),
    "gif (a real image, not allowed)": ("x.gif", "image/gif", image_bytes("GIF")),
    "bmp named png": ("x.png", "image/png", image_bytes("BMP")),
    "tiff named jpg": ("x.jpg", "image/jpeg", image_bytes("TIFF")),
    "pdf named png": ("x.png", "image/png", b"%PDF-1.4\n1 0 obj<<>>endobj\n" + SCRIPT),
    "empty file": ("x.png", "image/png", b""),
    "plain text": ("notes.txt", "text/plain", b"just text"),
}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.MEDIA_URL = "/media/"
    return tmp_path


@pytest.fixture
def editor_client(client, editor, media):
    client.force_login(editor)
    return client


def post(client, name: str, content_type: str, data: bytes):
    upload = SimpleUploadedFile(name, data, content_type=content_type)
    return client.post(URL, {"image": upload}, HTTP_X_REQUESTED_WITH="XMLHttpRequest")


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    "fmt, ext, mode",
    [("JPEG", "jpg", "RGB"), ("PNG", "png", "RGB"), ("PNG", "png", "P"), ("WEBP", "webp", "RGB")],
)
def test_verified_images_are_stored_with_a_random_name_and_their_real_extension(editor_client, media, fmt, ext, mode):
    response = post(editor_client, "../../My Photo.HTML", "text/html", image_bytes(fmt, mode=mode))
    assert response.status_code == 200
    match = STORED.match(response.json()["image_code"])
    assert match and match.group(2) == ext
    (path,) = stored_files(media)
    assert path.parent == media / "healthlib"
    assert path.name == f"{match.group(1)}.{ext}"
    with Image.open(path) as stored:
        assert stored.format == fmt and stored.size == (8, 6)


def test_each_upload_gets_its_own_name(editor_client, media):
    names = {post(editor_client, "same.png", "image/png", PNG).json()["image_code"] for _ in range(3)}
    assert len(names) == 3 and len(stored_files(media)) == 3


@pytest.mark.parametrize("case", list(DISGUISED))
def test_non_images_and_other_formats_are_refused_with_a_json_400(editor_client, media, case):
    name, content_type, data = DISGUISED[case]
    response = post(editor_client, name, content_type, data)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["image"], response.json()
    assert stored_files(media) == []


def test_missing_file_is_a_400(editor_client, media):
    response = editor_client.post(URL, {}, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 400 and "image" in response.json()


@pytest.mark.parametrize(
    "fmt, payload_place",
    [("PNG", "appended"), ("JPEG", "appended"), ("WEBP", "appended"), ("JPEG", "comment"), ("PNG", "text chunk")],
)
def test_polyglots_are_stripped_of_everything_but_pixels(editor_client, media, fmt, payload_place):
    """A valid image carrying HTML/JS (appended, in a JPEG comment, in a PNG text chunk) is stored without it."""
    if payload_place == "appended":
        data = image_bytes(fmt) + HTML
    elif payload_place == "comment":
        data = image_bytes("JPEG", comment=HTML)
    else:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", HTML.decode())
        data = image_bytes("PNG", pnginfo=info)
    assert b"<script>" in data
    response = post(editor_client, "poly.png", "image/png", data)
    assert response.status_code == 200
    (path,) = stored_files(media)
    stored = path.read_bytes()
    assert b"<script" not in stored and b"<html" not in stored


def test_exif_metadata_is_dropped(editor_client, media):
    exif = Image.Exif()
    exif[0x010E] = "Patient: Jane Doe, MRN 12345"  # ImageDescription
    data = image_bytes("JPEG", exif=exif.tobytes())
    assert b"Jane Doe" in data
    assert post(editor_client, "scan.jpg", "image/jpeg", data).status_code == 200
    (path,) = stored_files(media)
    assert b"Jane Doe" not in path.read_bytes()


def test_size_limit_from_settings(editor_client, media, settings):
    settings.HEALTHLIB = {"MAX_UPLOAD_BYTES": len(PNG) - 1}
    response = post(editor_client, "big.png", "image/png", PNG)
    assert response.status_code == 400
    assert "at most" in response.json()["image"][0]
    assert stored_files(media) == []
    settings.HEALTHLIB = {"MAX_UPLOAD_BYTES": len(PNG)}
    assert post(editor_client, "ok.png", "image/png", PNG).status_code == 200


def test_default_size_limit_is_five_megabytes(editor_client, media):
    data = image_bytes("PNG") + b"\0" * (5 * 1024 * 1024)
    response = post(editor_client, "big.png", "image/png", data)
    assert response.status_code == 400 and "5.0" in response.json()["image"][0]


def test_decompression_bombs_are_refused(editor_client, media):
    # A tiny PNG whose header claims 100 megapixels (IHDR rewritten, CRC fixed).
    png = bytearray(image_bytes("PNG", size=(1, 1), mode="L"))
    png[16:24] = struct.pack(">II", 10_000, 10_000)
    png[29:33] = struct.pack(">I", zlib.crc32(bytes(png[12:29])))
    data = bytes(png)
    response = post(editor_client, "bomb.png", "image/png", data)
    assert response.status_code == 400 and "too large" in response.json()["image"][0]
    assert stored_files(media) == []


@pytest.mark.parametrize("value", [0, -1, "5MB", 1.5, True, 200 * 1024 * 1024])
def test_system_check_for_max_upload_bytes(value):
    from healthlib.checks import check_settings

    with override_settings(HEALTHLIB={"MAX_UPLOAD_BYTES": value}):
        assert "healthlib.E010" in [e.id for e in check_settings()]


def test_system_check_accepts_a_valid_limit(db):  # the model checks ask the database for JSON support
    from healthlib.checks import check_settings

    with override_settings(HEALTHLIB={"MAX_UPLOAD_BYTES": 1024}):
        assert check_settings() == []
    call_command("check")  # the whole project is clean with the default


# ---------------------------------------------------------------- who may upload


def test_anonymous_users_are_refused(client, media, db):
    assert post(client, "x.png", "image/png", PNG).status_code == 403
    assert stored_files(media) == []


@pytest.mark.parametrize("who", ["reviewer", "nobody"])
def test_reviewers_and_non_editors_are_refused(client, media, request, who):
    client.force_login(request.getfixturevalue(who))
    assert post(client, "x.png", "image/png", PNG).status_code == 403
    assert stored_files(media) == []


def test_editors_without_staff_status_are_refused(client, media, db):
    user = make_user("ed_not_staff", "Editors")
    user.is_staff = False
    user.save()
    client.force_login(user)
    assert post(client, "x.png", "image/png", PNG).status_code == 403


def test_get_is_not_allowed(editor_client):
    assert editor_client.get(URL).status_code == 405


def test_csrf_is_enforced(editor, media):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    assert post(client, "x.png", "image/png", PNG).status_code == 403
    assert stored_files(media) == []


# ---------------------------------------------------------------- serving what was stored


def serve(name: str):
    return serve_upload(RequestFactory().get(f"/media/healthlib/{name}"), name)


def test_stored_images_are_served_with_nosniff_and_their_image_type(editor_client, media):
    for fmt, ctype in [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")]:
        code = post(editor_client, "x", "application/octet-stream", image_bytes(fmt)).json()["image_code"]
        name = code.rsplit("/", 1)[1].rstrip(")")
        response = serve(name)
        assert response.status_code == 200
        assert response["Content-Type"] == ctype
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Disposition"] == "inline"
        assert "sandbox" in response["Content-Security-Policy"]
        body = b"".join(response.streaming_content)
        with Image.open(io.BytesIO(body)) as served:
            assert served.format == fmt


@pytest.mark.parametrize(
    "name",
    ["../settings.py", "x.html", "0" * 32 + ".svg", "0" * 32 + ".png.html", "0" * 31 + ".png", "0" * 32 + ".png"],
)
def test_only_names_healthlib_created_are_served(media, name):
    (media / "healthlib").mkdir()
    (media / "healthlib" / "x.html").write_bytes(HTML)
    (media / "healthlib" / ("0" * 32 + ".svg")).write_bytes(SVG)
    from django.http import Http404

    with pytest.raises(Http404):
        serve(name)


def test_the_demo_serves_uploads_through_the_nosniff_view():
    match = resolve("/media/healthlib/" + "a" * 32 + ".png", urlconf="immunotherapy.urls")
    assert match.func is serve_upload


def test_json_error_is_parseable_by_the_markdownx_widget(editor_client, media):
    response = post(editor_client, "x.png", "image/png", SVG)
    assert json.loads(response.content) == {"image": ["Upload a JPEG, PNG or WebP image."]}
