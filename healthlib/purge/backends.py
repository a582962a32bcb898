"""The purge backends' common part: the interface, the registry of names, errors and one HTTP call.

A backend is configured in ``HEALTHLIB["PURGE_BACKENDS"]`` as ``alias -> {"BACKEND": name, ...options}``;
``name`` is one of :data:`NAMES` or the dotted path of a :class:`PurgeBackend` subclass. Its options
are checked at start-up (``healthlib.E043``-``E047``) through :meth:`PurgeBackend.problems`.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from django.utils.module_loading import import_string

from healthlib.conf import healthlib_settings

#: Short names of the backends healthlib ships.
NAMES = {
    "none": "healthlib.purge.backends.NoPurge",
    "varnish": "healthlib.purge.varnish.VarnishBackend",
    "fastly": "healthlib.purge.fastly.FastlyBackend",
    "cloudflare": "healthlib.purge.cloudflare.CloudflareBackend",
    "cloudfront": "healthlib.purge.cloudfront.CloudFrontBackend",
}
#: Kinds of problem :meth:`PurgeBackend.problems` reports (each its own system check).
MISSING, INVALID, DEPENDENCY = "missing", "invalid", "dependency"
#: Seconds one purge request may take.
DEFAULT_TIMEOUT = 10


class PurgeFailed(Exception):
    """The backend did not accept a purge. ``retry_after``: seconds it asked us to wait (429, 503)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PurgeBackend:
    """Purges cached pages by tag. Subclasses set :attr:`max_tags` and implement :meth:`purge`."""

    #: Most tags sent in one request (the provider's documented batch limit).
    max_tags = 100
    #: Options that must be present and non-empty.
    required: tuple[str, ...] = ()

    def __init__(self, alias: str, options: Mapping[str, Any]) -> None:
        self.alias = alias
        self.options = options
        self.timeout = options.get("TIMEOUT", DEFAULT_TIMEOUT)

    @classmethod
    def problems(cls, options: Mapping[str, Any]) -> list[tuple[str, str]]:
        """What is wrong with these options, as (MISSING, INVALID or DEPENDENCY, message), for the checks."""
        return [(MISSING, f"{name} is missing") for name in cls.required if not options.get(name)]

    def purge(self, tags: Sequence[str]) -> None:
        """Purge every cached page carrying one of ``tags`` (at most :attr:`max_tags`); raise PurgeFailed."""
        raise NotImplementedError


class NoPurge(PurgeBackend):
    """Purges nothing: for a site without an HTTP cache in front, or to switch purging off."""

    max_tags = 10_000

    def purge(self, tags: Sequence[str]) -> None:
        return None


def backend_class(name: str) -> type[PurgeBackend]:
    """The class of a backend name or dotted path; ImportError (or TypeError) when there is none."""
    cls = import_string(NAMES.get(name, name))
    if not (isinstance(cls, type) and issubclass(cls, PurgeBackend)):
        raise TypeError(f"{name} is not a PurgeBackend")
    return cls


def configured() -> dict[str, PurgeBackend]:
    """The site's backends by alias (those the checks would refuse are left out, and logged there)."""
    backends = {}
    for alias, options in (healthlib_settings.PURGE_BACKENDS or {}).items():
        backends[alias] = backend_class(options.get("BACKEND", ""))(alias, options)
    return backends


def _retry_after(headers) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


def http(
    method: str, url: str, *, headers: Mapping[str, str], body: bytes | None = None, timeout: float
) -> tuple[int, bytes]:
    """One HTTP request (the standard library's client: one call per batch needs no more).

    Returns (status, body) of a 2xx answer; raises PurgeFailed for anything else, with the server's
    ``Retry-After`` when it sent one.
    """
    request = urllib.request.Request(url, data=body, headers=dict(headers), method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        text = error.read()[:500].decode("utf-8", "replace")
        raise PurgeFailed(
            f"{method} {url} answered {error.code}: {text}", retry_after=_retry_after(error.headers)
        ) from None
    except (OSError, ValueError) as error:  # refused, timed out, DNS, malformed URL
        raise PurgeFailed(f"{method} {url} failed: {error}") from None


def json_body(data: bytes) -> Any:
    try:
        return json.loads(data or b"null")
    except ValueError:
        return None
