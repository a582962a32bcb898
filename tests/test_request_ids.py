"""Odd numbers from requests: never a 5xx (issue 17, finding 8).

Non-ASCII digits ("٣", "²"), numbers beyond 64 bits, negative numbers and empty values go into
every argument of every URL pattern, every query parameter the views read and every posted field
that takes a number or a choice. Each is answered as a missing object or a refused form is
(400, 404, a form error, or the admin's redirect for an object that does not exist), never a 5xx.

The URL patterns and parameters are found, not listed: patterns by walking the URL resolver,
query parameters by recording what each view reads from ``request.GET`` (plus the admin
changelists' filter parameters and the change forms' fields, which Django reads in bulk), so a
new view or parameter is fuzzed without editing this file.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django import forms
from django.contrib import admin
from django.contrib.admin.options import IS_POPUP_VAR, TO_FIELD_VAR
from django.contrib.admin.views.main import ALL_VAR, ORDER_VAR, PAGE_VAR, SEARCH_VAR
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.http import QueryDict
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RoutePattern
from django.utils.datastructures import MultiValueDict

from healthlib import workflow
from healthlib.admin import WORKFLOW_ACTIONS
from healthlib.conf import healthlib_settings
from healthlib.forms import ActionForm
from healthlib.models import (
    Article,
    GlossaryTerm,
    Review,
    ReviewerProfile,
    Topic,
    WorkflowEvent,
)
from healthlib.request_ids import MAX_ID, parse_id
from tests.conftest import ARTICLE_CONTENT, make_user

#: One or two of each kind: other scripts' digits, digits int() refuses, beyond 64 bits, negative, empty.
ODD_NUMBERS = {
    "arabic-indic digit": "٣",
    "superscript two": "²",
    "31 digits": "9" * 31,
    "2**63": str(MAX_ID + 1),
    "negative": "-1",
    "empty": "",
}
ARGUMENT = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
ADMIN_MODEL = re.compile(r"^admin/(?P<app>\w+)/(?P<model>\w+)/")


def route_patterns(patterns=None, prefix: str = "") -> list[tuple[str, str | None]]:
    """Every path() route of the project's URLconf, with its name (regex patterns take no numbers here)."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            found += route_patterns(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern) and isinstance(pattern.pattern, RoutePattern):
            found.append((prefix + str(pattern.pattern), pattern.name))
    return found


#: Other apps' admins are left out (Django's auth admin, django-tasks' task results): their 500s on
#: these inputs are theirs, in Django's own admin code (e.g. an empty ``?_to_field=``).
OTHER_APPS_ADMIN = ("admin/auth/", "admin/django_tasks_database/")
ROUTES = [(route, name) for route, name in route_patterns() if not route.startswith(OTHER_APPS_ADMIN)]
ROUTES_WITH_ARGUMENTS = [route for route, _name in ROUTES if ARGUMENT.search(route)]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One row of every model an admin page or reader page can point at.

    Built once for the module, in a transaction rolled back at its end: each test runs in a savepoint
    of it (``_each_test_rolled_back``), and every fuzzed request in a savepoint of its own.
    """
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _each_test_rolled_back(db):
    """pytest-django's per-test transaction (a savepoint inside ``world``'s)."""


def _build_world() -> dict:
    editor = make_user("editor", healthlib_settings.EDITOR_GROUP)
    reviewer = make_user("reviewer", healthlib_settings.REVIEWER_GROUP, credentials="MD")
    superuser = make_user("root", superuser=True)
    published_article = workflow.create_article(
        editor, slug="checkpoint-inhibitors", article_type="treatment", content=ARTICLE_CONTENT
    )
    workflow.submit(published_article, editor)
    workflow.approve(published_article, reviewer)
    workflow.publish(published_article, editor)
    topic = Topic.objects.create(slug="treatment-types", name="Types of immunotherapy")
    published_article.topics.add(topic)
    term = workflow.create_glossary_term(
        editor, slug="t-cell", content={"term": "T cell", "short_definition": "A white blood cell."}
    )
    workflow.submit(term, editor)
    workflow.approve(term, reviewer)
    workflow.publish(term, editor)
    workflow.save_draft(
        published_article,
        editor,
        {**published_article.latest_revision.content, "summary": "Changed."},
        based_on=published_article.latest_revision_id,
    )
    published_article.refresh_from_db()
    return {
        "article": published_article,
        "glossaryterm": term,
        "topic": topic,
        "revision": published_article.latest_revision,
        "review": Review.objects.first(),
        "workflowevent": WorkflowEvent.objects.first(),
        "reviewerprofile": ReviewerProfile.objects.get(user=reviewer),
        "user": reviewer,
        "group": Group.objects.first(),
        "superuser": superuser,
    }


def valid_arguments(route: str, world: dict) -> dict[str, str]:
    """A value for each argument of ``route`` that names something that exists."""
    article = world["article"]
    model = ADMIN_MODEL.match(route)
    admin_object = world.get(model["model"]) if model else None
    if model and model["model"] in ("reviewqueue",):
        admin_object = article
    values = {
        "object_id": admin_object.pk if admin_object is not None else article.pk,
        "pk": (world["revision"] if "revision" in route else article).pk,
        "id": world["user"].pk,
        "action": "submit",
        "slug": world["topic"].slug if "topics/" in route else world["glossaryterm"].slug if "glossary/" in route
        else article.slug,
        "article_type": article.article_type,
        "token": "x",
        "content_type_id": ContentType.objects.get_for_model(Article).pk,
    }  # fmt: skip
    return {match["name"]: str(values[match["name"]]) for match in ARGUMENT.finditer(route)}


def fill(route: str, arguments: dict[str, str]) -> str:
    return "/" + ARGUMENT.sub(lambda m: quote(arguments[m["name"]], safe=""), route)


class Fuzzer:
    """Sends requests, each in a savepoint rolled back afterwards, and collects every 5xx."""

    def __init__(self, *clients: Client):
        self.clients = clients
        self.failures: list[str] = []
        self.sent = 0

    def send(self, method: str, path: str, data: dict | None = None) -> list[int]:
        statuses = []
        for client in self.clients:
            with transaction.atomic():
                response = getattr(client, method)(path, data or {})
                # Whatever the request did (or broke, on PostgreSQL) is undone: every request sees
                # the same rows.
                transaction.set_rollback(True)
            self.sent += 1
            statuses.append(response.status_code)
            if response.status_code >= 500:
                user = getattr(client, "fuzz_user", "anonymous")
                self.failures.append(f"{method.upper()} {path} {data or ''} as {user}: {response.status_code}")
        return statuses

    def check(self) -> None:
        assert not self.failures, f"{len(self.failures)} of {self.sent} requests were 5xx:\n" + "\n".join(
            self.failures[:40]
        )


def client_for(user: User | None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
        client.fuzz_user = user.username
    return client


def clients(route: str, world: dict) -> list[Client]:
    staff = client_for(world["superuser"])
    return [staff] if route.startswith("admin/") else [staff, client_for(None)]


# ---------------------------------------------------------------- every URL argument


@pytest.mark.parametrize("route", ROUTES_WITH_ARGUMENTS)
def test_odd_numbers_in_every_url_argument_are_never_a_5xx(world, route):
    fuzzer = Fuzzer(*clients(route, world))
    valid = valid_arguments(route, world)
    for name in valid:
        for odd in ODD_NUMBERS.values():
            path = fill(route, {**valid, name: odd})
            fuzzer.send("get", path)
            fuzzer.send("post", path)
    fuzzer.check()


# ---------------------------------------------------------------- every query parameter


def parameters_read(client: Client, path: str) -> set[str]:
    """The keys a view reads from query dicts (``get``, ``[]``, ``getlist``, ``in``) for one GET."""
    read: set[str] = set()
    originals = {name: getattr(MultiValueDict, name) for name in ("get", "__getitem__", "getlist")}

    def recording(name):
        def method(self, key, *args, **kwargs):
            if isinstance(self, QueryDict):
                read.add(key)
            return originals[name](self, key, *args, **kwargs)

        return method

    def contains(self, key):
        read.add(key)
        return dict.__contains__(self, key)

    try:
        for name in originals:
            setattr(MultiValueDict, name, recording(name))
        QueryDict.__contains__ = contains
        with transaction.atomic():
            client.get(path)
            transaction.set_rollback(True)
    finally:
        for name, method in originals.items():
            setattr(MultiValueDict, name, method)
        del QueryDict.__contains__
    return read


def admin_parameters(route: str, world: dict) -> set[str]:
    """What Django's admin reads from the query string in bulk: changelist filters, form initial data."""
    model = ADMIN_MODEL.match(route)
    model_admin = next(
        (ma for m, ma in admin.site._registry.items() if model and m._meta.model_name == model["model"]), None
    )
    if model_admin is None:
        return set()
    request = RequestFactory().get("/")
    request.user = world["superuser"]
    if route.endswith(f"{model['model']}/"):
        changelist = model_admin.get_changelist_instance(request)
        names = {ALL_VAR, ORDER_VAR, PAGE_VAR, SEARCH_VAR, IS_POPUP_VAR, TO_FIELD_VAR, "_facets"}
        for spec in changelist.filter_specs:
            names.update(spec.expected_parameters())
        return names
    if route.endswith(("add/", "change/")):
        # Initial values of the form's fields (only those that take numbers or choices).
        fields = model_admin.get_form(request)().fields
        return {name for name, field in fields.items() if numeric_or_choice(field)} | {"_changelist_filters"}
    return set()


@pytest.mark.parametrize("route", [route for route, _name in ROUTES])
def test_odd_numbers_in_every_query_parameter_are_never_a_5xx(world, route):
    route_clients = clients(route, world)
    path = fill(route, valid_arguments(route, world))
    names = set().union(*(parameters_read(client, path) for client in route_clients))
    names |= admin_parameters(route, world)
    names -= {"csrfmiddlewaretoken"}
    fuzzer = Fuzzer(*route_clients)
    for name in sorted(names):
        for odd in ODD_NUMBERS.values():
            fuzzer.send("get", path, {name: odd})
    fuzzer.check()


def test_the_parameters_the_views_read_are_found(world):
    # The recording above must see the parameters known to be read, or the fuzzing proves nothing.
    staff = client_for(world["superuser"])
    article = world["article"]
    assert {"a", "b"} <= parameters_read(staff, reverse("admin:healthlib_article_history", args=[article.pk]))
    assert {"q", "page"} <= parameters_read(staff, reverse("healthlib:search"))
    assert "reviewer" in admin_parameters("admin/healthlib/article/", world)
    assert "topics" in admin_parameters("admin/healthlib/article/add/", world)


# ---------------------------------------------------------------- every posted number or choice


def numeric_or_choice(field: forms.Field) -> bool:
    return isinstance(field, (forms.IntegerField, forms.ModelChoiceField, forms.ChoiceField))


ADMIN_MODELS = [model for model in admin.site._registry if model._meta.app_label == "healthlib"]


@pytest.mark.parametrize("model", ADMIN_MODELS, ids=lambda m: m._meta.model_name)
def test_odd_numbers_in_every_posted_choice_are_never_a_5xx(world, model):
    model_admin = admin.site._registry[model]
    request = RequestFactory().get("/")
    request.user = world["superuser"]
    fuzzer = Fuzzer(client_for(world["superuser"]))
    obj = world.get(model._meta.model_name)
    info = model._meta.app_label, model._meta.model_name
    try:
        targets = [(reverse("admin:{}_{}_add".format(*info)), None)]
    except NoReverseMatch:  # the review queue and review dates pages: lists only
        targets = []
    if obj is not None:
        targets.append((reverse("admin:{}_{}_change".format(*info), args=[obj.pk]), obj))
    for url, instance in targets:
        fields = model_admin.get_form(request, instance)().fields
        for name in [name for name, field in fields.items() if numeric_or_choice(field)]:
            for odd in ODD_NUMBERS.values():
                fuzzer.send("post", url, {name: odd})
    # Actions on the changelist: the selected ids and the action's index.
    changelist = reverse("admin:{}_{}_changelist".format(*info))
    for action in model_admin.get_actions(request) or ["delete_selected"]:
        for odd in ODD_NUMBERS.values():
            fuzzer.send("post", changelist, {"action": action, "_selected_action": odd, "index": "0"})
            fuzzer.send("post", changelist, {"action": action, "_selected_action": obj.pk if obj else 1, "index": odd})
    fuzzer.check()


@pytest.mark.parametrize("action", WORKFLOW_ACTIONS)
def test_odd_numbers_in_every_workflow_post_are_never_a_5xx(world, action):
    fuzzer = Fuzzer(client_for(world["superuser"]))
    article = world["article"]
    url = reverse("admin:healthlib_article_workflow", args=[article.pk, action])
    valid = {"revision": article.latest_revision_id, "based_on": article.latest_revision_id}
    for name, field in ActionForm().fields.items():
        if numeric_or_choice(field) or name in valid:
            for odd in ODD_NUMBERS.values():
                fuzzer.send("post", url, {**valid, name: odd})
    fuzzer.check()


# ---------------------------------------------------------------- the reported cases


@pytest.mark.parametrize("odd", ["٣", "²", "9" * 31, str(2**64)], ids=["arabic-indic", "superscript", "31", "2**64"])
def test_an_odd_revision_in_history_comparison_is_a_400(client, world, odd):
    client.force_login(world["superuser"])
    client.raise_request_exception = False
    url = reverse("admin:healthlib_article_history", args=[world["article"].pk])
    revision = world["revision"].pk
    assert client.get(url, {"a": odd, "b": revision}).status_code == 400
    assert client.get(url, {"a": revision, "b": odd}).status_code == 400
    assert client.get(url, {"a": "", "b": ""}).status_code == 200


@pytest.mark.parametrize("odd", ["٣", "²", "9" * 31, str(2**64)], ids=["arabic-indic", "superscript", "31", "2**64"])
def test_an_odd_reviewer_filter_is_refused(client, world, odd):
    client.force_login(world["superuser"])
    client.raise_request_exception = False
    url = reverse("admin:healthlib_article_changelist")
    response = client.get(url, {"reviewer": odd})
    # Django's answer to a filter value it cannot use: back to the unfiltered list with ?e=1.
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")
    assert client.get(url, {"reviewer": world["user"].pk}).status_code == 200


@pytest.mark.parametrize("model", [Article, GlossaryTerm], ids=["article", "term"])
@pytest.mark.parametrize("odd", ["²", "9" * 31, str(2**63), "-1"], ids=["superscript", "31", "2**63", "negative"])
def test_an_odd_id_in_a_change_url_is_answered_as_a_missing_item(client, world, model, odd):
    client.force_login(world["superuser"])
    client.raise_request_exception = False
    info = model._meta.app_label, model._meta.model_name
    missing = client.get(f"/admin/{info[0]}/{info[1]}/{MAX_ID}/change/")
    odd_response = client.get(f"/admin/{info[0]}/{info[1]}/{quote(odd)}/change/")
    assert (odd_response.status_code, odd_response.get("Location")) == (missing.status_code, missing.get("Location"))
    assert client.get(f"/admin/{info[0]}/{info[1]}/{quote(odd)}/history/").status_code == 404


def test_an_odd_topic_choice_is_a_form_error(client, world):
    client.force_login(world["superuser"])
    client.raise_request_exception = False
    response = client.post(reverse("admin:healthlib_article_add"), {"topics": ["9" * 31]})
    assert response.status_code == 200
    assert "topics" in response.context["adminform"].form.errors


def test_parse_id_reads_ascii_ids_within_64_bits_only():
    assert parse_id("42") == 42
    assert parse_id(str(MAX_ID)) == MAX_ID
    for odd in ODD_NUMBERS.values():
        assert parse_id(odd) is None
