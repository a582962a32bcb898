"""Cloudflare: purge by cache tag.

``POST https://api.cloudflare.com/client/v4/zones/{ZONE_ID}/purge_cache`` with the JSON body
``{"tags": [...]}``, authenticated by ``Authorization: Bearer {API_TOKEN}`` (a token with the
zone's *Cache Purge* permission). Cloudflare accepts up to 100 tags per request on every plan
(500 on Enterprise: set ``MAX_TAGS``) and answers ``{"success": true, ...}``; a 200 with
``"success": false`` is a failure too. Options: ``ZONE_ID``, ``API_TOKEN``, ``MAX_TAGS``,
``API_URL`` (default ``https://api.cloudflare.com/client/v4``), ``TIMEOUT``. Needs
``CACHE_TAG_HEADER = "Cache-Tag"``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from urllib.parse import quote

from healthlib.purge.backends import INVALID, PurgeBackend, PurgeFailed, http, json_body

API_URL = "https://api.cloudflare.com/client/v4"


class CloudflareBackend(PurgeBackend):
    max_tags = 100
    required = ("ZONE_ID", "API_TOKEN")

    def __init__(self, alias, options) -> None:
        super().__init__(alias, options)
        self.max_tags = options.get("MAX_TAGS", type(self).max_tags)

    @classmethod
    def problems(cls, options) -> list[tuple[str, str]]:
        problems = super().problems(options)
        limit = options.get("MAX_TAGS", cls.max_tags)
        if not (isinstance(limit, int) and not isinstance(limit, bool) and 1 <= limit <= 500):
            problems.append((INVALID, "MAX_TAGS must be a whole number from 1 to 500"))
        return problems

    def purge(self, tags: Sequence[str]) -> None:
        base = self.options.get("API_URL", API_URL).rstrip("/")
        url = f"{base}/zones/{quote(self.options['ZONE_ID'], safe='')}/purge_cache"
        headers = {"Authorization": f"Bearer {self.options['API_TOKEN']}", "Content-Type": "application/json"}
        _, body = http(
            "POST", url, headers=headers, body=json.dumps({"tags": list(tags)}).encode(), timeout=self.timeout
        )
        answer = json_body(body)
        if not (isinstance(answer, dict) and answer.get("success") is True):
            raise PurgeFailed(f"POST {url} was not accepted: {body[:500].decode('utf-8', 'replace')}")
