"""healthlib.admin.records: revisions, reviews and audit events are read-only in the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse

from healthlib.models import Review, Revision, WorkflowEvent
from tests.admin_pages import (
    _clear_cache,  # noqa: F401 (an autouse fixture: the presence notices live in the cache)
)


@pytest.mark.parametrize("model", ["revision", "review", "workflowevent"])
def test_history_records_are_read_only(client, published_article, superuser, model):
    client.force_login(superuser)
    obj = {"revision": Revision, "review": Review, "workflowevent": WorkflowEvent}[model].objects.first()
    assert client.get(reverse(f"admin:healthlib_{model}_add")).status_code == 403
    assert client.get(reverse(f"admin:healthlib_{model}_delete", args=[obj.pk])).status_code == 403
    page = client.get(reverse(f"admin:healthlib_{model}_change", args=[obj.pk]))
    assert page.status_code == 200 and b'type="submit" value="Save"' not in page.content
    assert client.post(reverse(f"admin:healthlib_{model}_change", args=[obj.pk]), {}).status_code == 403
