import re

import django.db.models.functions.text
from django.db import migrations, models

# Names (title and aliases) get their own full-text index, so that search can order the entries whose
# names match without reading or ranking the long texts (see healthlib.search). SQL per database, as
# in 0004: on SQLite a second FTS5 table with its own copy of the names (small rows, never the large
# entry rows), kept in step by the same triggers as the first; on PostgreSQL a GIN index on the
# names' tsvector. The new column is added with ALTER TABLE ... ADD COLUMN on SQLite too: Django
# would rebuild the whole table (every text) for a NOT NULL column.
NAMES_TABLE = """CREATE VIRTUAL TABLE healthlib_searchentry_names USING fts5(
    title, aliases, tokenize='unicode61 remove_diacritics 2', prefix='2 3'
)"""
OLD_TRIGGERS = [
    """CREATE TRIGGER healthlib_searchentry_ai AFTER INSERT ON healthlib_searchentry BEGIN
        INSERT INTO healthlib_searchentry_fts(rowid, title, body_text) VALUES (new.item_id, new.title, new.body_text);
    END""",
    """CREATE TRIGGER healthlib_searchentry_ad AFTER DELETE ON healthlib_searchentry BEGIN
        INSERT INTO healthlib_searchentry_fts(healthlib_searchentry_fts, rowid, title, body_text)
        VALUES ('delete', old.item_id, old.title, old.body_text);
    END""",
    """CREATE TRIGGER healthlib_searchentry_au AFTER UPDATE ON healthlib_searchentry BEGIN
        INSERT INTO healthlib_searchentry_fts(healthlib_searchentry_fts, rowid, title, body_text)
        VALUES ('delete', old.item_id, old.title, old.body_text);
        INSERT INTO healthlib_searchentry_fts(rowid, title, body_text) VALUES (new.item_id, new.title, new.body_text);
    END""",
]
NEW_TRIGGERS = [
    """CREATE TRIGGER healthlib_searchentry_ai AFTER INSERT ON healthlib_searchentry BEGIN
        INSERT INTO healthlib_searchentry_fts(rowid, title, body_text) VALUES (new.item_id, new.title, new.body_text);
        INSERT INTO healthlib_searchentry_names(rowid, title, aliases) VALUES (new.item_id, new.title, new.aliases);
    END""",
    """CREATE TRIGGER healthlib_searchentry_ad AFTER DELETE ON healthlib_searchentry BEGIN
        INSERT INTO healthlib_searchentry_fts(healthlib_searchentry_fts, rowid, title, body_text)
        VALUES ('delete', old.item_id, old.title, old.body_text);
        DELETE FROM healthlib_searchentry_names WHERE rowid = old.item_id;
    END""",
    """CREATE TRIGGER healthlib_searchentry_au AFTER UPDATE ON healthlib_searchentry BEGIN
        INSERT INTO healthlib_searchentry_fts(healthlib_searchentry_fts, rowid, title, body_text)
        VALUES ('delete', old.item_id, old.title, old.body_text);
        INSERT INTO healthlib_searchentry_fts(rowid, title, body_text) VALUES (new.item_id, new.title, new.body_text);
        DELETE FROM healthlib_searchentry_names WHERE rowid = old.item_id;
        INSERT INTO healthlib_searchentry_names(rowid, title, aliases) VALUES (new.item_id, new.title, new.aliases);
    END""",
]
DROP_TRIGGERS = [
    "DROP TRIGGER IF EXISTS healthlib_searchentry_au",
    "DROP TRIGGER IF EXISTS healthlib_searchentry_ad",
    "DROP TRIGGER IF EXISTS healthlib_searchentry_ai",
]
PG_NAMES_INDEX = """CREATE INDEX healthlib_searchentry_names ON healthlib_searchentry
    USING GIN (to_tsvector('english'::regconfig, title || ' ' || aliases))"""


def _sql(schema_editor, statements):
    for statement in statements:
        schema_editor.execute(statement, params=None)


def _aliases_field():
    # The state of the RunPython below is the one before AddField, so the field is built here.
    field = models.TextField(blank=True, default="", editable=False, verbose_name="other names")
    field.set_attributes_from_name("aliases")
    return field


def add_column(apps, schema_editor):
    model = apps.get_model("healthlib", "SearchEntry")
    if schema_editor.connection.vendor == "sqlite":
        _sql(schema_editor, DROP_TRIGGERS)
        _sql(schema_editor, ["ALTER TABLE healthlib_searchentry ADD COLUMN aliases text NOT NULL DEFAULT ''"])
    else:
        schema_editor.add_field(model, _aliases_field())


def remove_column(apps, schema_editor):
    model = apps.get_model("healthlib", "SearchEntry")
    if schema_editor.connection.vendor == "sqlite":
        _sql(schema_editor, DROP_TRIGGERS)
        _sql(schema_editor, ["ALTER TABLE healthlib_searchentry DROP COLUMN aliases", *OLD_TRIGGERS])
    else:
        schema_editor.remove_field(model, _aliases_field())


def fill_aliases(apps, schema_editor):
    # What healthlib.search.entry_fields now writes for a live glossary term (articles have none).
    SearchEntry = apps.get_model("healthlib", "SearchEntry")
    GlossaryTerm = apps.get_model("healthlib", "GlossaryTerm")
    space = re.compile(r"\s+")
    control = re.compile("[\x00\x02\x03]")
    entries = SearchEntry.objects.using(schema_editor.connection.alias).filter(kind="glossary_term")
    terms = GlossaryTerm.objects.using(schema_editor.connection.alias).filter(
        pk__in=entries.values("item_id"), live_revision__isnull=False
    )
    batch = []
    for pk, aliases in terms.values_list("pk", "live_aliases").iterator(chunk_size=2000):
        cleaned = (space.sub(" ", control.sub(" ", alias or "")).strip() for alias in aliases or [])
        text = "\n".join(filter(None, cleaned))
        if text:
            batch.append(SearchEntry(item_id=pk, aliases=text))
        if len(batch) >= 2000:
            SearchEntry.objects.using(schema_editor.connection.alias).bulk_update(batch, ["aliases"])
            batch = []
    SearchEntry.objects.using(schema_editor.connection.alias).bulk_update(batch, ["aliases"])


def index_names(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _sql(
            schema_editor,
            [
                NAMES_TABLE,
                """INSERT INTO healthlib_searchentry_names(rowid, title, aliases)
                   SELECT item_id, title, aliases FROM healthlib_searchentry""",
                *NEW_TRIGGERS,
            ],
        )
    elif schema_editor.connection.vendor == "postgresql":
        _sql(schema_editor, [PG_NAMES_INDEX])


def unindex_names(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        _sql(schema_editor, [*DROP_TRIGGERS, "DROP TABLE IF EXISTS healthlib_searchentry_names"])
    elif schema_editor.connection.vendor == "postgresql":
        _sql(schema_editor, ["DROP INDEX IF EXISTS healthlib_searchentry_names"])


class Migration(migrations.Migration):
    dependencies = [
        ("healthlib", "0007_contentitem_submission"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="searchentry",
                    name="aliases",
                    field=models.TextField(blank=True, default="", editable=False, verbose_name="other names"),
                ),
            ],
            database_operations=[migrations.RunPython(add_column, remove_column)],
        ),
        migrations.RunPython(fill_aliases, migrations.RunPython.noop),
        migrations.RunPython(index_names, unindex_names),
        migrations.AddIndex(
            model_name="searchentry",
            index=models.Index(django.db.models.functions.text.Lower("title"), name="healthlib_search_lower_title"),
        ),
    ]
