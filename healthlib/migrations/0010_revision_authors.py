import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def backfill(apps, schema_editor):
    """Give every existing revision its text authors, never fewer than the rule it replaces gave.

    The old rule: everyone who saved a revision of the item since its previous publication. The new
    one (``healthlib.workflow._text_authors``) adds the authors of the text a revision repeats (same
    content hash, any item) and of the revision it was edited from, unless that one was published by
    then. Both are applied, so nobody who could not judge a revision before can judge it now.

    Two passes over the revisions' metadata (never their content), each linear in the number of
    revisions; rows are written in batches. Plain ORM calls, so SQLite and PostgreSQL alike.
    """
    Revision = apps.get_model("healthlib", "Revision")
    RevisionAuthor = apps.get_model("healthlib", "RevisionAuthor")
    WorkflowEvent = apps.get_model("healthlib", "WorkflowEvent")
    published_at = {}
    for revision_id, created_at in (
        WorkflowEvent.objects.filter(action="healthlib.publish", revision__isnull=False)
        .order_by("-created_at")
        .values_list("revision_id", "created_at")
        .iterator()
    ):
        published_at[revision_id] = created_at  # newest first, so the first publication wins
    fields = (
        "pk",
        "item_id",
        "number",
        "based_on_id",
        "created_by_id",
        "created_by_name",
        "content_hash",
        "created_at",
    )
    rows = list(Revision.objects.values(*fields).iterator())
    authors = {}

    # Pass 1, the old rule: walk each item's revisions in order; a published revision ends a stretch.
    rows.sort(key=lambda row: (row["item_id"], row["number"]))
    item_id, since_live = None, {}
    for row in rows:
        if row["item_id"] != item_id:
            item_id, since_live = row["item_id"], {}
        since_live.setdefault(row["created_by_id"], row["created_by_name"])
        authors[row["pk"]] = dict(since_live)
        if row["pk"] in published_at:
            since_live = {}

    # Pass 2, the text rule, in creation order so that what a revision copies already has its authors.
    rows.sort(key=lambda row: row["pk"])
    by_hash = {}
    for row in rows:
        own = authors[row["pk"]]
        parent = row["based_on_id"]
        if parent is not None and (parent not in published_at or published_at[parent] > row["created_at"]):
            for pk, name in authors[parent].items():
                own.setdefault(pk, name)
        for pk, name in by_hash.get(row["content_hash"], {}).items():
            own.setdefault(pk, name)
        by_hash.setdefault(row["content_hash"], {}).update(own)

    # Deleted users (NULL) cannot judge anything, so they need no row.
    RevisionAuthor.objects.bulk_create(
        (
            RevisionAuthor(revision_id=revision_id, user_id=pk, user_name=name)
            for revision_id, own in authors.items()
            for pk, name in own.items()
            if pk is not None
        ),
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("healthlib", "0009_remove_contentitem_version"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RevisionAuthor",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_name", models.CharField(max_length=300, verbose_name="author name")),
                (
                    "revision",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="authors",
                        to="healthlib.revision",
                        verbose_name="revision",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="author",
                    ),
                ),
            ],
            options={
                "verbose_name": "revision author",
                "verbose_name_plural": "revision authors",
                "indexes": [models.Index(fields=["user", "revision"], name="healthlib_revisionauthor_user")],
                "constraints": [
                    models.UniqueConstraint(fields=("revision", "user"), name="healthlib_revisionauthor_unique")
                ],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
