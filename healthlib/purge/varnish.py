"""Varnish: a purge request to every Varnish server, by xkey (vmod_xkey) or by ban.

Options: ``URLS`` (each Varnish server's address, e.g. ``["http://10.0.0.5:6081"]``: every server
keeps its own cache), ``MODE`` (``"xkey"``, the default, or ``"ban"``), ``HEADER`` (the request
header carrying the tags; default ``xkey-purge`` for xkey, ``X-Healthlib-Ban`` for ban), ``SOFT``
(xkey only: ask for a soft purge with ``xkey-softpurge``, which keeps serving the stale object in grace
while it is fetched again), ``TIMEOUT``.

- ``xkey``: ``PURGE /`` with ``xkey-purge: tag1 tag2`` (space-separated, as vmod_xkey's
  ``xkey.purge()`` reads them); the shipped VCL answers 200. Needs ``CACHE_TAG_HEADER = "xkey"``.
- ``ban``: ``BAN /`` with ``X-Healthlib-Ban: tag1|tag2``, for a VCL without vmod_xkey that bans
  ``obj.http.xkey ~ "(^| )(" + req.http.X-Healthlib-Ban + ")( |$)"``. Tags are slugs and prefixes, so
  they hold no regular-expression characters but ``-``.
"""

from __future__ import annotations

from collections.abc import Sequence

from healthlib.purge.backends import INVALID, PurgeBackend, PurgeFailed, http


class VarnishBackend(PurgeBackend):
    # Varnish's default limit of one request header is 8 KB (http_req_hdr_len); tags are short.
    max_tags = 100
    required = ("URLS",)

    @classmethod
    def problems(cls, options) -> list[tuple[str, str]]:
        problems = super().problems(options)
        if options.get("MODE", "xkey") not in ("xkey", "ban"):
            problems.append((INVALID, 'MODE must be "xkey" or "ban"'))
        urls = options.get("URLS")
        if urls and not (isinstance(urls, (list, tuple)) and all(isinstance(u, str) and "://" in u for u in urls)):
            problems.append((INVALID, "URLS must be a list of http:// addresses"))
        return problems

    def purge(self, tags: Sequence[str]) -> None:
        ban = self.options.get("MODE", "xkey") == "ban"
        if ban:
            method, header, value = "BAN", self.options.get("HEADER", "X-Healthlib-Ban"), "|".join(tags)
        else:
            default = "xkey-softpurge" if self.options.get("SOFT") else "xkey-purge"
            method, header, value = "PURGE", self.options.get("HEADER", default), " ".join(tags)
        failures = []
        for url in self.options["URLS"]:
            try:
                http(method, url.rstrip("/") + "/", headers={header: value}, timeout=self.timeout)
            except PurgeFailed as error:
                failures.append(error)
        if failures:  # every server is tried; a retry purges the others again, which is harmless
            raise PurgeFailed("; ".join(map(str, failures)), retry_after=failures[0].retry_after)
