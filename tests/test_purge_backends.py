"""The purge backends' HTTP requests, checked against a local server that records them and answers
as each provider documents (their real APIs cannot be reached from here): URL shapes, headers,
authentication, batch limits, and error answers (429 and 5xx are retried later)."""

from __future__ import annotations

import datetime
import json
import threading
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.checks import run_checks
from django.utils import timezone

from healthlib import purge
from healthlib.models import PurgeRequest
from healthlib.purge import cloudfront
from healthlib.purge.backends import DEPENDENCY, PurgeBackend, PurgeFailed, backend_class
from healthlib.purge.cloudflare import CloudflareBackend
from healthlib.purge.fastly import FastlyBackend
from healthlib.purge.varnish import VarnishBackend
from tests import reader_fixtures

library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf
clear_page_cache = reader_fixtures.clear_page_cache


class Recorder(ThreadingHTTPServer):
    """Records every request; answers from ``script`` (status, headers, body) in turn, then ``default``."""

    daemon_threads = True

    def __init__(self, default) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.requests: list[dict] = []
        self.script: list[tuple[int, dict, bytes]] = []
        self.default = default

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        server = self.server
        server.requests.append({"method": self.command, "path": self.path, "headers": self.headers, "body": body})
        status, headers, answer = server.script.pop(0) if server.script else server.default(self)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_GET = do_POST = do_PURGE = do_BAN = _any

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    def make(default):
        recorder = Recorder(default)
        threading.Thread(target=recorder.serve_forever, daemon=True).start()
        servers.append(recorder)
        return recorder

    servers: list[Recorder] = []
    yield make
    for recorder in servers:
        recorder.shutdown()
        recorder.server_close()


def tags(n: int) -> list[str]:
    return [f"hl-a-article-{i:03d}" for i in range(n)]


# ---------------------------------------------------------------- Fastly


def fastly_ok(handler):
    keys = handler.headers.get("Surrogate-Key", "").split()
    return 200, {"Content-Type": "application/json"}, json.dumps({key: f"id-{key}" for key in keys}).encode()


def test_fastly_batch_purge_by_surrogate_key(server):
    fastly = server(fastly_ok)
    backend = FastlyBackend(
        "edge", {"SERVICE_ID": "SU1Z0isxPaozGVKXdv0eY", "API_TOKEN": "t0ken", "API_URL": fastly.url}
    )
    backend.purge(tags(3))
    [request] = fastly.requests
    assert request["method"] == "POST"
    assert request["path"] == "/service/SU1Z0isxPaozGVKXdv0eY/purge"
    assert request["headers"]["Fastly-Key"] == "t0ken"
    assert request["headers"]["Surrogate-Key"] == "hl-a-article-000 hl-a-article-001 hl-a-article-002"
    assert "Fastly-Soft-Purge" not in request["headers"]


def test_fastly_soft_purge(server):
    fastly = server(fastly_ok)
    FastlyBackend("edge", {"SERVICE_ID": "s", "API_TOKEN": "t", "API_URL": fastly.url, "SOFT": True}).purge(["x"])
    assert fastly.requests[0]["headers"]["Fastly-Soft-Purge"] == "1"


@pytest.mark.django_db
def test_fastly_batches_at_256_keys(server, settings):
    fastly = server(fastly_ok)
    settings.HEALTHLIB = {
        "CACHE_TAG_HEADER": "Surrogate-Key",
        "PURGE_BACKENDS": {"fastly": {"BACKEND": "fastly", "SERVICE_ID": "s", "API_TOKEN": "t", "API_URL": fastly.url}},
    }
    purge.record(tags(300))
    outcome = purge.send_pending()
    assert outcome.sent == {"fastly": 300}
    assert [len(r["headers"]["Surrogate-Key"].split()) for r in fastly.requests] == [256, 44]
    assert not PurgeRequest.objects.exists()


# ---------------------------------------------------------------- Cloudflare


def cloudflare_ok(handler):
    body = {"success": True, "errors": [], "messages": [], "result": {"id": "9a7806061c88ada191ed06f989cc3dac"}}
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def cloudflare_options(url, **more):
    return {"ZONE_ID": "023e105f4ecef8ad9ca31a8372d0c353", "API_TOKEN": "cf-token", "API_URL": url, **more}


def test_cloudflare_purge_by_tags(server):
    cloudflare = server(cloudflare_ok)
    CloudflareBackend("edge", cloudflare_options(cloudflare.url)).purge(tags(2))
    [request] = cloudflare.requests
    assert request["method"] == "POST"
    assert request["path"] == "/zones/023e105f4ecef8ad9ca31a8372d0c353/purge_cache"
    assert request["headers"]["Authorization"] == "Bearer cf-token"
    assert request["headers"]["Content-Type"] == "application/json"
    assert json.loads(request["body"]) == {"tags": ["hl-a-article-000", "hl-a-article-001"]}


@pytest.mark.django_db
@pytest.mark.parametrize("limit, sizes", [(None, [100, 100, 50]), (500, [250])])
def test_cloudflare_batches_at_its_limit(server, settings, limit, sizes):
    cloudflare = server(cloudflare_ok)
    options = cloudflare_options(cloudflare.url, BACKEND="cloudflare", **({"MAX_TAGS": limit} if limit else {}))
    settings.HEALTHLIB = {"CACHE_TAG_HEADER": "Cache-Tag", "PURGE_BACKENDS": {"cf": options}}
    purge.record(tags(250))
    purge.send_pending()
    assert [len(json.loads(r["body"])["tags"]) for r in cloudflare.requests] == sizes


def test_cloudflare_success_false_is_a_failure(server):
    cloudflare = server(cloudflare_ok)
    body = {"success": False, "errors": [{"code": 1134, "message": "Purge by tag is not allowed"}], "result": None}
    cloudflare.script.append((200, {"Content-Type": "application/json"}, json.dumps(body).encode()))
    with pytest.raises(PurgeFailed, match="1134"):
        CloudflareBackend("edge", cloudflare_options(cloudflare.url)).purge(["x"])


@pytest.mark.django_db
def test_429_and_5xx_are_retried_later_with_the_servers_retry_after(server, settings):
    cloudflare = server(cloudflare_ok)
    settings.HEALTHLIB = {
        "CACHE_TAG_HEADER": "Cache-Tag",
        "PURGE_BACKENDS": {"cf": cloudflare_options(cloudflare.url, BACKEND="cloudflare")},
    }
    error = {"success": False, "errors": [{"code": 10000, "message": "rate limited"}]}
    cloudflare.script.append((429, {"Retry-After": "120"}, json.dumps(error).encode()))
    purge.record(["hl-a-one"])
    now = timezone.now()
    outcome = purge.send_pending(now=now)
    [row] = PurgeRequest.objects.all()
    assert outcome.failed == [row.pk]
    assert row.attempts == 1 and "429" in row.last_error
    assert row.next_attempt_at == now + datetime.timedelta(seconds=120)
    assert outcome.next_due == row.next_attempt_at
    # Then a 503: the backoff doubles.
    cloudflare.script.append((503, {}, b"upstream unavailable"))
    purge.send_pending(now=row.next_attempt_at)
    row.refresh_from_db()
    assert row.attempts == 2 and "503" in row.last_error
    # Then it works: sent once, the row is gone.
    purge.send_pending(now=row.next_attempt_at)
    assert not PurgeRequest.objects.exists()
    assert len(cloudflare.requests) == 3


@pytest.mark.django_db
def test_an_unreachable_endpoint_is_retried(settings):
    settings.HEALTHLIB = {
        "CACHE_TAG_HEADER": "Cache-Tag",
        # Port 9 on loopback: nothing listens (connection refused).
        "PURGE_BACKENDS": {"cf": cloudflare_options("http://127.0.0.1:9", BACKEND="cloudflare", TIMEOUT=2)},
    }
    purge.record(["hl-a-one"])
    purge.send_pending()
    [row] = PurgeRequest.objects.all()
    assert row.attempts == 1 and "failed" in row.last_error


# ---------------------------------------------------------------- Varnish


def varnish_ok(handler):
    return 200, {}, b"Invalidated 3 objects"


def test_varnish_xkey_purge_goes_to_every_server(server):
    one, two = server(varnish_ok), server(varnish_ok)
    VarnishBackend("varnish", {"URLS": [one.url, two.url]}).purge(["hl-a-x", "hl-home"])
    for recorder in (one, two):
        [request] = recorder.requests
        assert (request["method"], request["path"]) == ("PURGE", "/")
        assert request["headers"]["xkey-purge"] == "hl-a-x hl-home"


def test_varnish_soft_purge_and_ban(server):
    varnish = server(varnish_ok)
    VarnishBackend("varnish", {"URLS": [varnish.url], "SOFT": True}).purge(["hl-a-x"])
    VarnishBackend("varnish", {"URLS": [varnish.url], "MODE": "ban"}).purge(["hl-a-x", "hl-home"])
    soft, ban = varnish.requests
    assert soft["headers"]["xkey-softpurge"] == "hl-a-x"
    assert (ban["method"], ban["headers"]["X-Healthlib-Ban"]) == ("BAN", "hl-a-x|hl-home")


def test_varnish_one_server_down_is_a_failure_after_trying_the_others(server):
    up = server(varnish_ok)
    down = server(varnish_ok)
    down.script.append((503, {}, b"Backend fetch failed"))
    with pytest.raises(PurgeFailed, match="503"):
        VarnishBackend("varnish", {"URLS": [down.url, up.url]}).purge(["hl-a-x"])
    assert len(up.requests) == 1


# ---------------------------------------------------------------- CloudFront


NS = "{http://cloudfront.amazonaws.com/doc/2020-05-31/}"


def cloudfront_ok(handler):
    body = ET.fromstring(handler.server.requests[-1]["body"])
    paths = [p.text for p in body.iter(f"{NS}Path")]
    items = "".join(f"<Path>{p}</Path>" for p in paths)
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I2J0I21PCUYOIK</Id>'
        "<Status>InProgress</Status><CreateTime>2026-12-07T14:00:00Z</CreateTime><InvalidationBatch>"
        f"<Paths><Quantity>{len(paths)}</Quantity><Items>{items}</Items></Paths>"
        "<CallerReference>x</CallerReference></InvalidationBatch></Invalidation>"
    )
    location = f"{handler.server.url}/2020-05-31/distribution/EDFDVBD6EXAMPLE/invalidation/I2J0I21PCUYOIK"
    return 201, {"Content-Type": "text/xml", "Location": location}, xml.encode()


def cloudfront_backend(url, **more):
    options = {
        "DISTRIBUTION_ID": "EDFDVBD6EXAMPLE",
        "ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        **more,
    }
    return backend_class("cloudfront")("cdn", options)


def sent_paths(request) -> list[str]:
    return [p.text for p in ET.fromstring(request["body"]).iter(f"{NS}Path")]


@pytest.mark.django_db
def test_cloudfront_invalidates_the_paths_of_the_tags(server, library):
    aws = server(cloudfront_ok)
    cloudfront_backend(aws.url).purge(["hl-a-checkpoint-inhibitors", "hl-t-treatment-types", "hl-home", "hl-search"])
    [request] = aws.requests
    assert request["method"] == "POST"
    assert request["path"] == "/2020-05-31/distribution/EDFDVBD6EXAMPLE/invalidation"
    assert request["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    body = ET.fromstring(request["body"])
    assert body.find(f"{NS}CallerReference").text.startswith("healthlib-")
    paths = sent_paths(request)
    assert int(body.find(f"{NS}Paths/{NS}Quantity").text) == len(paths)
    assert set(paths) == {
        "/health/articles/checkpoint-inhibitors/",
        "/health/articles/checkpoint-inhibitors/reviews/",
        "/health/articles/checkpoint-inhibitors/reviews/live.json",
        "/health/topics/treatment-types/",
        "/health/articles/car-t-cell-therapy/",  # in the topic: its related articles
        "/health/",
        "/health/search/*",
    }


@pytest.mark.django_db
def test_cloudfront_maps_a_terms_mentions_through_the_index(library):
    assert set(cloudfront.paths_for(["hl-m-t-cell", "hl-g-t-cell"])) == {
        "/health/glossary/t-cell/",
        "/health/articles/checkpoint-inhibitors/",
        "/health/articles/car-t-cell-therapy/",
        "/health/articles/editorial-process/",
    }
    # Many article pages become one wildcard path (CloudFront bills per path).
    assert cloudfront.paths_for(["hl-m-t-cell"], wildcard_over=2) == ["/health/articles/*"]
    assert cloudfront.paths_for(["hl"]) == ["/health/*"]


@pytest.mark.django_db
def test_cloudfront_splits_large_invalidations_and_reports_errors(server, library):
    aws = server(cloudfront_ok)
    cloudfront_backend(aws.url, MAX_PATHS=2).purge(["hl-a-checkpoint-inhibitors"])
    assert [len(sent_paths(r)) for r in aws.requests] == [2, 1]
    error = (
        b'<?xml version="1.0"?><ErrorResponse xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/">'
        b"<Error><Type>Sender</Type><Code>TooManyInvalidationsInProgress</Code>"
        b"<Message>Processing your request will cause you to exceed the maximum number of in-progress"
        b" wildcard invalidations.</Message></Error><RequestId>abc</RequestId></ErrorResponse>"
    )
    aws.script.append((400, {"Content-Type": "text/xml"}, error))
    with pytest.raises(PurgeFailed, match="TooManyInvalidationsInProgress"):
        cloudfront_backend(aws.url).purge(["hl-home"])


# ---------------------------------------------------------------- start-up checks (E040-E048)


def errors(settings, **healthlib) -> set[str]:
    settings.HEALTHLIB = healthlib
    return {error.id for error in run_checks() if error.id.startswith("healthlib.E04")}


def test_valid_edge_settings_pass(settings):
    assert not errors(
        settings,
        CACHE_TAG_HEADER="Surrogate-Key",
        EDGE_MAX_AGE=86400,
        PURGE_BACKENDS={
            "fastly": {"BACKEND": "fastly", "SERVICE_ID": "s", "API_TOKEN": "t"},
            "varnish": {"BACKEND": "varnish", "URLS": ["http://10.0.0.5:6081"]},
            "cloudflare": {"BACKEND": "cloudflare", "ZONE_ID": "z", "API_TOKEN": "t"},
            "cloudfront": {"BACKEND": "cloudfront", "DISTRIBUTION_ID": "E1"},
            "off": {"BACKEND": "none"},
        },
    )


@pytest.mark.parametrize(
    "healthlib, check",
    [
        ({"CACHE_TAG_HEADER": "Surrogate-Keys"}, "E040"),
        ({"CACHE_TAG_HEADER": "surrogate-key"}, "E040"),
        ({"CACHE_TAG_PREFIX": "has space"}, "E041"),
        ({"CACHE_TAG_PREFIX": ""}, "E041"),
        ({"EDGE_MAX_AGE": -1}, "E042"),
        ({"EDGE_MAX_AGE": "1d"}, "E042"),
    ],
)
def test_e040_e042_edge_headers(settings, healthlib, check):
    assert errors(settings, **healthlib) == {f"healthlib.{check}"}


@pytest.mark.parametrize("backends", [["fastly"], {"edge": "fastly"}])
def test_e043_backends_shape(settings, backends):
    assert errors(settings, CACHE_TAG_HEADER="xkey", PURGE_BACKENDS=backends) == {"healthlib.E043"}


@pytest.mark.parametrize("name", ["akamai", "", "healthlib.conf.DEFAULTS", None])
def test_e044_unknown_backend(settings, name):
    assert errors(settings, CACHE_TAG_HEADER="xkey", PURGE_BACKENDS={"edge": {"BACKEND": name}}) == {"healthlib.E044"}


@pytest.mark.parametrize(
    "options",
    [
        {"BACKEND": "fastly", "SERVICE_ID": "s"},
        {"BACKEND": "fastly", "API_TOKEN": "t"},
        {"BACKEND": "cloudflare", "ZONE_ID": "z"},
        {"BACKEND": "varnish"},
        {"BACKEND": "cloudfront"},
    ],
)
def test_e045_missing_credentials(settings, options):
    assert errors(settings, CACHE_TAG_HEADER="Surrogate-Key", PURGE_BACKENDS={"edge": options}) == {"healthlib.E045"}


@pytest.mark.parametrize(
    "options",
    [
        {"BACKEND": "cloudflare", "ZONE_ID": "z", "API_TOKEN": "t", "MAX_TAGS": 1000},
        {"BACKEND": "varnish", "URLS": ["http://v:6081"], "MODE": "purge-all"},
        {"BACKEND": "varnish", "URLS": "http://v:6081"},
    ],
)
def test_e046_invalid_options(settings, options):
    assert errors(settings, CACHE_TAG_HEADER="Surrogate-Key", PURGE_BACKENDS={"edge": options}) == {"healthlib.E046"}


def test_e047_cloudfront_needs_boto3(settings, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_boto3(name, *args, **kwargs):
        if name == "boto3":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_boto3)
    options = {"BACKEND": "cloudfront", "DISTRIBUTION_ID": "E1"}
    assert errors(settings, PURGE_BACKENDS={"cdn": options}) == {"healthlib.E047"}


def test_e048_tag_purges_without_tagged_pages(settings):
    fastly = {"BACKEND": "fastly", "SERVICE_ID": "s", "API_TOKEN": "t"}
    assert errors(settings, PURGE_BACKENDS={"edge": fastly}) == {"healthlib.E048"}


class NeedsALibrary(PurgeBackend):
    """A backend whose library is missing (tests/test_checks.py fires E047 with it)."""

    @classmethod
    def problems(cls, options):
        return [(DEPENDENCY, "somelib is not installed (pip install somelib)")]
