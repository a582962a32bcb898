from __future__ import annotations

import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.dateformat import format as format_date

from healthlib.conf import healthlib_settings

register = template.Library()


@register.filter
def review_date(value: datetime.date | None) -> str:
    """Format a review date (or aware datetime, in local time) with ``HEALTHLIB['DATE_FORMAT']`` (default MM/DD/YYYY)."""
    if not value:
        return ""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return format_date(value, healthlib_settings.DATE_FORMAT)


@register.simple_tag
def healthlib_setting(name: str) -> Any:
    """Read a HEALTHLIB setting in a template: ``{% healthlib_setting "SITE_NAME" %}``."""
    return getattr(healthlib_settings, name)


@register.simple_tag(takes_context=True)
def absolute_url(context: template.Context, path: str) -> str:
    """``path`` as an absolute URL on the current host: ``{% absolute_url request.path %}``."""
    request = context.get("request")
    return request.build_absolute_uri(path) if request is not None else path
