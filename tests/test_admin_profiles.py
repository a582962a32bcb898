"""healthlib.admin.profiles: reviewer profiles, each edited by its reviewer only, on one line."""

from __future__ import annotations

import pytest
from django.urls import reverse

from healthlib.models import ReviewerProfile
from tests.admin_pages import (
    _clear_cache,  # noqa: F401 (an autouse fixture: the presence notices live in the cache)
)

# ---------------------------------------------------------------- who edits a profile


def test_reviewer_edits_only_their_own_profile(client, reviewer, reviewer2, superuser):
    own, other = reviewer.reviewer_profile, reviewer2.reviewer_profile
    client.force_login(reviewer)
    url = reverse("admin:healthlib_reviewerprofile_change", args=[own.pk])
    response = client.post(url, {"display_name": "Dr Rev", "credentials": "MD, PhD", "specialty": "Oncology"})
    assert response.status_code == 302
    own.refresh_from_db()
    assert (own.credentials, own.user) == ("MD, PhD", reviewer)
    other_url = reverse("admin:healthlib_reviewerprofile_change", args=[other.pk])
    assert client.post(other_url, {"display_name": "Hacked", "credentials": ""}).status_code == 403
    other.refresh_from_db()
    assert other.display_name != "Hacked"
    assert client.get(reverse("admin:healthlib_reviewerprofile_add")).status_code == 403
    client.force_login(superuser)
    response = client.post(other_url, {"user": reviewer2.pk, "display_name": "Renamed", "credentials": "PharmD"})
    assert response.status_code == 302
    assert ReviewerProfile.objects.get(pk=other.pk).display_name == "Renamed"


# ---------------------------------------------------------------- bylines are one line (issue 17, finding 13)


@pytest.mark.parametrize("field", ["display_name", "credentials", "specialty"])
@pytest.mark.parametrize("breaker", ["\n", "\r", "\u2028", "\u2029", "\x85", "\x0b", "\x1f"])
def test_reviewer_profile_refuses_line_breaks(client, reviewer, field, breaker):
    profile = reviewer.reviewer_profile
    before = (profile.display_name, profile.credentials, profile.specialty)
    client.force_login(reviewer)
    data = {"display_name": "Dr Rev", "credentials": "MD", "specialty": "Oncology"}
    data[field] = f"{data[field]}{breaker}Injected line"
    response = client.post(reverse("admin:healthlib_reviewerprofile_change", args=[profile.pk]), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[field] == [
        "Write this on one line, without line breaks or control characters."
    ]
    profile.refresh_from_db()
    assert (profile.display_name, profile.credentials, profile.specialty) == before
