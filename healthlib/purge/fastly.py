"""Fastly: batch purge by surrogate key.

``POST https://api.fastly.com/service/{SERVICE_ID}/purge`` with the keys in a ``Surrogate-Key``
request header (space-separated), authenticated by ``Fastly-Key: {API_TOKEN}`` (a token with the
``purge_select`` scope); at most 256 keys per request (Fastly's documented limit). ``SOFT: True``
adds ``Fastly-Soft-Purge: 1`` (objects are marked stale, not removed). Options: ``SERVICE_ID``,
``API_TOKEN``, ``SOFT``, ``API_URL`` (default ``https://api.fastly.com``), ``TIMEOUT``. Needs
``CACHE_TAG_HEADER = "Surrogate-Key"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from healthlib.purge.backends import PurgeBackend, http

API_URL = "https://api.fastly.com"


class FastlyBackend(PurgeBackend):
    max_tags = 256
    required = ("SERVICE_ID", "API_TOKEN")

    def purge(self, tags: Sequence[str]) -> None:
        base = self.options.get("API_URL", API_URL).rstrip("/")
        headers = {
            "Fastly-Key": self.options["API_TOKEN"],
            "Surrogate-Key": " ".join(tags),
            "Accept": "application/json",
        }
        if self.options.get("SOFT"):
            headers["Fastly-Soft-Purge"] = "1"
        http(
            "POST",
            f"{base}/service/{quote(self.options['SERVICE_ID'], safe='')}/purge",
            headers=headers,
            timeout=self.timeout,
        )
