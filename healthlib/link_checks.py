"""Reference link checks: is every live reference URL still answering?

Each URL is asked with HEAD first (cheap), then with GET when HEAD gets an error status (many
servers refuse or mishandle HEAD). Redirects are followed (at most urllib's 10) and the final
URL recorded. A timeout or connection error is not retried: it would only double the wait.

The standard library's ``urllib`` does it: healthlib has no HTTP client among its dependencies,
and checking a few hundred URLs needs no connection pooling or async. Only ``http`` and
``https`` are opened (no ``file:``, ``ftp:`` or ``data:`` handlers are installed, so neither a
reference nor a redirect can read local files). Requests go through the proxy the environment
names (``https_proxy``...), like any urllib client.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from http.client import HTTPException
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from django.utils.encoding import iri_to_uri
from django.utils.translation import gettext as _

from healthlib import __version__
from healthlib.conf import healthlib_settings
from healthlib.models import Article, ReferenceCheck
from healthlib.models.link_checks import MAX_URL

USER_AGENT = f"healthlib-link-check/{__version__} (+https://pypi.org/project/django-healthlib/)"
#: HEAD answers that are worth asking again with GET: anything but a plain success or redirect.
RETRY_WITH_GET_FROM = 400


@dataclass(frozen=True)
class LinkResult:
    url: str
    status: int | None
    final_url: str
    error: str = ""

    @property
    def broken(self) -> bool:
        return bool(self.error) or self.status is None or self.status >= 400


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    """Follow a HEAD's redirect with HEAD: Python 3.11's urllib asks the target with GET (a whole page)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and req.get_method() == "HEAD":
            new.method = "HEAD"
        return new


def _opener() -> urllib.request.OpenerDirector:
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        _RedirectHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


def _ask(url: str, method: str, timeout: float) -> LinkResult:
    # An address as typed may hold spaces or non-ASCII letters, which urllib refuses to send.
    request = urllib.request.Request(
        iri_to_uri(url), method=method, headers={"User-Agent": USER_AGENT, "Accept": "*/*"}
    )
    try:
        with _opener().open(request, timeout=timeout) as response:
            return LinkResult(url, response.status, response.geturl())
    except urllib.error.HTTPError as error:  # an answer with an error status (after any redirects)
        error.close()
        if error.code < 400:  # a redirect urllib refused to follow: a loop, or to a scheme other than http(s)
            return LinkResult(
                url, error.code, error.geturl() or url, _("Redirect not followed: %(why)s") % {"why": error.msg}
            )
        return LinkResult(url, error.code, error.geturl() or url)
    except TimeoutError:
        return LinkResult(url, None, "", _("No answer within %(n)s seconds.") % {"n": f"{timeout:g}"})
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            return LinkResult(url, None, "", _("No answer within %(n)s seconds.") % {"n": f"{timeout:g}"})
        return LinkResult(url, None, "", _("Could not connect: %(reason)s") % {"reason": error.reason})
    except (HTTPException, OSError, ValueError) as error:  # a malformed answer or address
        return LinkResult(url, None, "", _("Bad answer: %(error)s") % {"error": error.__class__.__name__})


def check_url(url: str, timeout: float | None = None) -> LinkResult:
    """Check one URL: HEAD, then GET if HEAD got an error status."""
    timeout = timeout or healthlib_settings.LINK_CHECK_TIMEOUT
    if urlsplit(url).scheme not in ("http", "https") or len(url) > MAX_URL:
        return LinkResult(url, None, "", _("Not a web address that can be checked."))
    result = _ask(url, "HEAD", timeout)
    if result.status is not None and result.status >= RETRY_WITH_GET_FROM:
        result = _ask(url, "GET", timeout)
    return result


def live_references() -> dict[tuple[int, str], str]:
    """(article id, URL) -> reference title, for every reference of every live article."""
    found: dict[tuple[int, str], str] = {}
    rows = Article.objects.filter(live_revision__isnull=False).values_list("pk", "live_references")
    for article_id, references in rows.iterator():
        for reference in references or []:
            url = (reference.get("url") or "").strip()
            if url:
                found.setdefault((article_id, url), str(reference.get("title") or "")[:500])
    return found


def check_all(*, timeout: float | None = None, workers: int | None = None) -> list[ReferenceCheck]:
    """Check every live reference URL once (in parallel) and store one result per article and URL.

    Rows of references that are no longer live are deleted. Returns the stored rows.
    """
    references = live_references()
    urls = sorted({url for _, url in references})
    workers = max(1, min(workers or healthlib_settings.LINK_CHECK_WORKERS, 16))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(zip(urls, pool.map(partial(check_url, timeout=timeout), urls), strict=True))
    now = timezone.now()
    rows = [
        ReferenceCheck(
            article_id=article_id,
            url=url,
            title=title,
            status=results[url].status,
            final_url=results[url].final_url[:MAX_URL],
            error=results[url].error,
            broken=results[url].broken,
            checked_at=now,
        )
        for (article_id, url), title in sorted(references.items())
    ]
    with transaction.atomic():
        # Replaced as a whole: the table is small (one row per live reference) and this is never half done.
        ReferenceCheck.objects.all().delete()
        ReferenceCheck.objects.bulk_create(rows)
    return rows


def broken_references() -> list[ReferenceCheck]:
    """References of live articles last checked broken, whose article still cites them."""
    rows = (
        ReferenceCheck.objects.filter(broken=True, article__live_revision__isnull=False)
        .select_related("article", "article__owner")
        # The page HTML is tens of kilobytes an article and not needed here.
        .defer("article__live_body_html", "article__live_toc_html", "article__live_page_html")
        .order_by("article__title", "url")
    )
    return [row for row in rows if row.url in {ref.get("url") for ref in row.article.live_references}]


def broken_urls(urls: Iterable[str]) -> list[ReferenceCheck]:
    """The last check of each of ``urls`` that found it broken (for the pre-publish checklist)."""
    found: dict[str, ReferenceCheck] = {}
    for row in ReferenceCheck.objects.filter(url__in=list(urls), broken=True).order_by("-checked_at"):
        found.setdefault(row.url, row)
    return list(found.values())
