"""Deterministic benchmark data: N articles and M glossary terms with realistic sizes, states and dates.

    python -m bench.generate --articles 10000 --terms 10000   (settings: bench.settings, see its docstring)

Running the workflow 100,000 times would take hours, so rows are bulk-inserted fully formed:
ContentItem/Article/GlossaryTerm, Revision (canonical content, real SHA-256 content hash,
readability from :func:`healthlib.readability.measure`), Review, WorkflowEvent, topics and search
entries. They satisfy the invariants of DESIGN.md the way the workflow would leave them:

- every published item has an approving review of its live revision, with the same content hash,
  by a medical reviewer who is not an author of it; ``last_reviewed_at`` is that review's date (or a
  later reaffirmation's), ``next_review_due`` follows from it and the interval;
- one WorkflowEvent per state change (create, submit, approve, publish, reaffirm, save_draft,
  request_changes, schedule, archive), in time order;
- drafts, items in review and archived items have no live fields.

Article bodies are assembled from a pool of markdown sections, each rendered once by the real
:func:`healthlib.markup.render_document`; an article's HTML is the concatenation of its sections'
HTML. That is exact for these sections (unique headings, no footnotes): the generator re-renders a
sample of the articles in full and stops if any differs. Every live body (or, with ``--link-every N``,
every Nth; the others keep the unlinked HTML) is then linked against
the published glossary by the real linker (:class:`healthlib.glossary_linker.Glossary`), per article.
Search entries hold the summary and the plain text of the pooled parts (what indexing the linked body
without its inline definitions gives, up to spacing around punctuation).

Every item gets its own ``random.Random`` seeded from (seed, kind, number), so article 17 is the same
whether 10,000 or 100,000 are generated. Dates are relative to ``--today`` (default: today), so
"overdue" and "due soon" mean what they say on the day of the run.
"""

from __future__ import annotations

import argparse
import datetime
import html as html_lib
import os
import random
import re
import sys
import time
from collections.abc import Iterable

SEED = 20261127
DAY = datetime.timedelta(days=1)
HOUR = datetime.timedelta(hours=1)

WORDS = (
    "the a your you can may will often most some many people doctor care team body immune system cells blood "
    "treatment therapy side effects week month day dose infusion visit test result sign symptom feel tired rest "
    "eat drink water sleep walk help ask nurse plan change start stop keep watch call clinic hospital home family "
    "work safe risk chance better worse mild serious rare common new old small large early late first next each "
    "every most after before during while when because if but and or so that which who what how why where this "
    "these those there here about into over under between through against without with for from of on in at by "
    "to up out down off again more less very also just only even still much little well good bad right wrong "
    "important useful careful simple clear short long quick slow usual normal different same other own whole part "
    "skin lung liver kidney heart gut bowel bone brain nerve muscle joint gland tissue organ tumor cancer growth "
    "spread stage grade scan image sample biopsy report record letter note question answer choice option goal"
).split()
HEADING_WORDS = (
    "What How When Why Who Where Which Living Getting Managing Understanding Preparing Planning Talking Coping "
    "Choosing Starting Stopping Tracking Checking Finding Handling Easing Reducing Avoiding"
).split()
HEADING_NOUNS = (
    "treatment side effects tests results risks benefits costs appointments questions support follow-up care "
    "recovery fatigue nutrition exercise sleep work travel pregnancy infections vaccines medicines symptoms "
    "emotions family caregivers clinical trials second opinions insurance records scans biopsies doses"
).split()
PREFIXES = (
    "cyto lympho immuno onco neuro cardio hemato dermato gastro nephro hepato osteo myelo endo pneumo angio "
    "fibro chondro erythro leuko thrombo adeno histo patho pharmaco radio"
).split()
ROOTS = "kin gen plast cyt blast phag trop lys sarc carcin glob fibr mod sens tox stat path morph lect crin".split()
SUFFIXES = "ase in oma itis osis ide ine ogen ocyte emia ology ectomy".split()
QUALIFIERS = (
    "acute chronic primary secondary regulatory helper killer memory natural adaptive innate targeted systemic "
    "local metastatic benign malignant recurrent refractory adjuvant neoadjuvant"
).split()
PUBLISHERS = ["National Cancer Institute", "American Cancer Society", "Mayo Clinic", "MedlinePlus", "NHS", "WHO"]
TOPICS = [
    "Treatment types", "Side effects", "Living with cancer", "Tests and scans", "Clinical trials", "Nutrition",
    "Caregivers", "Children and teens", "Costs and insurance", "Emotional health", "Blood cancers",
    "Skin cancers", "Lung cancers", "Breast cancers", "Digestive cancers", "Rare cancers", "Vaccines",
    "Survivorship", "Palliative care", "Research news",
]  # fmt: skip
ARTICLE_TYPES = ["overview", "condition", "treatment", "test", "drug", "guide"]
# (state, weight): "published_draft" and "published_review" are live items with a newer revision being worked on.
ARTICLE_STATES = [
    ("published", 70), ("published_reaffirmed", 8), ("published_draft", 5), ("published_review", 3), ("draft", 5),
    ("in_review", 3), ("changes_requested", 2), ("approved", 1), ("scheduled", 1), ("archived", 2),
]  # fmt: skip
TERM_STATES = [("published", 92), ("draft", 3), ("in_review", 2), ("archived", 3)]
EDITORS = 12
REVIEWERS = 8
SECTION_POOL = 600
INTRO_POOL = 120
CHUNK = 2000


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--terms", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--today", type=datetime.date.fromisoformat, default=None, help="YYYY-MM-DD")
    parser.add_argument("--verify-every", type=int, default=250, help="re-render every Nth article in full")
    parser.add_argument(
        "--link-every", type=int, default=1,
        help="glossary-link every Nth live article (1: all); the others keep the rendered, unlinked HTML",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true")
    return parser.parse_args(argv)


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()


def log(message: str, *, quiet: bool = False) -> None:
    if not quiet:
        print(f"[generate {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pick_state(rng: random.Random, table: list[tuple[str, int]]) -> str:
    return rng.choices([s for s, _ in table], weights=[w for _, w in table])[0]


# ---------------------------------------------------------------- text


class Text:
    """Sentences, paragraphs and lists that mention glossary terms."""

    def __init__(self, rng: random.Random, mentions: list[str]) -> None:
        self.rng = rng
        self.mentions = mentions

    def sentence(self, low: int = 8, high: int = 20) -> str:
        rng = self.rng
        words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
        if self.mentions and rng.random() < 0.35:
            words.insert(rng.randrange(1, len(words)), rng.choice(self.mentions))
        if rng.random() < 0.06:
            i = rng.randrange(len(words))
            words[i] = f"**{words[i]}**"
        text = " ".join(words)
        return text[0].upper() + text[1:] + rng.choice(".....?")

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rng.randint(3, 6)))

    def bullet_list(self) -> str:
        marker = "1." if self.rng.random() < 0.3 else "-"
        return "\n".join(f"{marker} {self.sentence(4, 10)}" for _ in range(self.rng.randint(3, 7)))


def section_pool(rng: random.Random, mentions: list[str]) -> list[str]:
    text = Text(rng, mentions)
    headings: set[str] = set()
    sections = []
    while len(sections) < SECTION_POOL:
        heading = f"{rng.choice(HEADING_WORDS)} {rng.choice(HEADING_NOUNS)} {rng.choice(HEADING_NOUNS)}"
        if heading.lower() in headings:
            continue
        headings.add(heading.lower())
        blocks = [f"## {heading}"]
        for _ in range(rng.randint(1, 3)):
            blocks.append(text.paragraph())
        if rng.random() < 0.6:
            blocks.append(text.bullet_list())
        if rng.random() < 0.35:
            sub = f"{heading} {rng.choice(['in practice', 'for families', 'at home', 'in hospital'])}"
            if sub.lower() not in headings:
                headings.add(sub.lower())
                blocks += [f"### {sub}", text.paragraph()]
        sections.append("\n\n".join(blocks))
    return sections


def intro_pool(rng: random.Random, mentions: list[str]) -> list[str]:
    text = Text(rng, mentions)
    return [text.paragraph() for _ in range(INTRO_POOL)]


# ---------------------------------------------------------------- glossary terms


def term_names(count: int, rng: random.Random) -> list[str]:
    singles = sorted({p + r + s for p in PREFIXES for r in ROOTS for s in SUFFIXES})
    rng.shuffle(singles)
    names = singles[: max(count // 2, 1)]
    doubles: set[str] = set()
    while len(names) + len(doubles) < count:
        doubles.add(f"{rng.choice(QUALIFIERS)} {rng.choice(singles)}")
    names += sorted(doubles)
    rng.shuffle(names)
    return names[:count]


def term_content(number: int, name: str, seed: int, slugs: list[str]) -> dict:
    rng = random.Random(f"{seed}:term:{number}")
    text = Text(rng, [])
    aliases = []
    if rng.random() < 0.5:
        aliases.append("".join(w[0] for w in name.split()).upper() + f"-{number % 97}")
    if rng.random() < 0.3:
        aliases.append(name.replace(" ", "-") if " " in name else name + " factor")
    related = sorted({rng.choice(slugs) for _ in range(rng.randint(0, 3))} - {slugs[number]})
    return {
        "term": name,
        "aliases": aliases,
        "pronunciation": "(" + "-".join(rng.choice(["SY", "toe", "KINE", "lim", "FO", "ma", "OH", "nuh"]) for _ in range(3)) + ")",
        "short_definition": f"A {rng.choice(WORDS)} {rng.choice(WORDS)} that {text.sentence(6, 12).lower()}",
        "full_definition": "\n\n".join(text.sentence() for _ in range(rng.randint(2, 4))),
        "professional_definition": text.sentence(12, 24),
        "related_terms": related,
    }  # fmt: skip


def paragraphs_html(text: str) -> str:
    """render_markdown of plain paragraphs (verified against the real pipeline on a sample)."""
    from healthlib.markup import sanitize

    if not text:
        return ""
    parts = []
    for block in text.split("\n\n"):
        inline = re.sub(r"\*\*(\S+?)\*\*", r"<strong>\1</strong>", html_lib.escape(block, quote=False))
        parts.append(f"<p>{inline}</p>")
    return sanitize("\n".join(parts))


# ---------------------------------------------------------------- inserting rows


class Table:
    """Bulk INSERT of fully formed rows (explicit primary keys) through executemany."""

    def __init__(self, model) -> None:
        from django.db import connection

        self.connection = connection
        self.model = model
        self.fields = model._meta.local_concrete_fields
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column) for f in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        self.sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({marks})"
        self.rows: list[list] = []
        self.count = 0

    def add(self, **values) -> None:
        row = []
        for f in self.fields:
            value = values[f.attname] if f.attname in values else f.get_default()
            row.append(f.get_db_prep_save(value, self.connection))
        self.rows.append(row)
        if len(self.rows) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            with self.connection.cursor() as cursor:
                cursor.executemany(self.sql, self.rows)
            self.count += len(self.rows)
            self.rows = []


class Ids:
    def __init__(self, start: int = 1) -> None:
        self.value = start - 1

    def next(self) -> int:
        self.value += 1
        return self.value


def stats_of(parts: Iterable) -> dict:
    """Revision statistics from per-block readability measures (exact: measure works block by block)."""
    import math

    from healthlib.conf import healthlib_settings
    from healthlib.readability import FLESCH_KINCAID

    words = sentences = syllables = 0
    for part in parts:
        words += part.words
        sentences += part.sentences
        syllables += part.syllables
    grade = None
    if words:
        a, b, c = FLESCH_KINCAID
        grade = round(a * words / sentences + b * syllables / words - c, 1)
    minutes = math.ceil(words / healthlib_settings.READING_WORDS_PER_MINUTE) if words else 0
    return {"word_count": words, "readability_grade": grade, "reading_minutes": minutes}


# ---------------------------------------------------------------- the generator


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        from django.utils import timezone

        self.args = args
        self.seed = args.seed
        today = args.today or timezone.localdate()
        self.now = timezone.make_aware(datetime.datetime.combine(today, datetime.time(9, 0)))
        if args.today is None:
            self.now = min(self.now, timezone.now() - HOUR)
        self.ids = {name: Ids() for name in ("item", "revision", "review", "event", "m2m")}

    # -- people and topics, through the ORM (few rows)
    def people(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from healthlib.conf import healthlib_settings
        from healthlib.models import CredentialVerification, ReviewerProfile, Topic
        from healthlib.roles import ensure_roles

        ensure_roles()
        User = get_user_model()
        editors_group = Group.objects.get(name=healthlib_settings.EDITOR_GROUP)
        reviewers_group = Group.objects.get(name=healthlib_settings.REVIEWER_GROUP)
        self.editors, self.reviewers = [], []
        for i in range(EDITORS):
            user = User.objects.create_user(f"editor{i}", password="bench", first_name="Editor", last_name=str(i))
            user.is_staff = True
            user.save()
            user.groups.add(editors_group)
            self.editors.append(user)
        for i in range(REVIEWERS):
            user = User.objects.create_user(f"reviewer{i}", password="bench", first_name="Reviewer", last_name=str(i))
            user.is_staff = True
            user.save()
            user.groups.add(reviewers_group)
            check = CredentialVerification.objects.create(
                reviewer=user, reviewer_name=f"Reviewer {i}", credentials="MD", specialty="Medical oncology",
                verified_on=datetime.date.today(), verified_by_name="Benchmark set-up",
            )  # fmt: skip
            ReviewerProfile.objects.create(
                user=user, display_name=f"Reviewer {i}", credentials="MD", specialty="Medical oncology",
                verification=check,
            )  # fmt: skip
            self.reviewers.append(user)
        self.superuser = User.objects.create_superuser("admin", "admin@example.com", "bench")
        self.topics = [
            Topic.objects.create(name=name, slug=name.lower().replace(" ", "-"), description=f"About {name.lower()}.")
            for name in TOPICS
        ]

    def name(self, user) -> str:
        return user.get_full_name() or user.get_username()

    def credentials(self, user) -> str:
        return "MD, Medical oncology" if user in self.reviewers else ""

    # -- rows of history
    def event(self, item_id, revision_id, action, from_state, to_state, actor, at, comment="") -> None:
        self.t_event.add(
            id=self.ids["event"].next(), item_id=item_id, revision_id=revision_id, action=f"healthlib.{action}",
            from_state=from_state, to_state=to_state, actor_id=actor.pk, actor_name=self.name(actor),
            comment=comment, created_at=at,
        )  # fmt: skip

    def review(self, revision_id, content_hash, round_, decision, reviewer, at, comment="") -> None:
        self.t_review.add(
            id=self.ids["review"].next(), revision_id=revision_id, content_hash=content_hash, round=round_,
            decision=decision, reviewer_id=reviewer.pk, reviewer_name=self.name(reviewer),
            reviewer_credentials=self.credentials(reviewer), comment=comment, reviewed_at=at,
        )  # fmt: skip

    def revision(self, item_id, number, title, content, digest, author, at, based_on, stats) -> int:
        revision_id = self.ids["revision"].next()
        self.t_revision.add(
            id=revision_id, item_id=item_id, number=number, title=title, content=content, content_hash=digest,
            based_on_id=based_on, created_by_id=author.pk, created_by_name=self.name(author), created_at=at,
            **stats,
        )  # fmt: skip
        return revision_id

    def submission(self, user, at) -> dict:
        """The pending submission ``workflow.submit`` stores on an item in review (left empty otherwise)."""
        return {"submitted_at": at, "submitted_by_id": user.pk, "submitted_by_name": self.name(user)}

    def history(self, rng, item_id: int, state: str, revisions: list[tuple], interval: int) -> dict:
        """Write revisions, reviews and events for one item; return the item's workflow fields.

        ``revisions``: [(title, content, digest, stats)], one or two (the second is a newer draft).
        """
        from healthlib.models import Decision, State

        author = rng.choice(self.editors)
        reviewer = rng.choice(self.reviewers)
        live_like = state.startswith("published") or state == "archived"
        # When the live revision was last reviewed: spread so that some are overdue and some due soon.
        reviewed = self.now - DAY * rng.uniform(1, interval + 60) - HOUR * rng.uniform(0, 8)
        reaffirmed = state == "published_reaffirmed"
        approved_at = reviewed - DAY * rng.uniform(interval * 0.5, interval) if reaffirmed else reviewed
        if not live_like:
            approved_at = self.now - DAY * rng.uniform(0.2, 20)
        created = approved_at - DAY * rng.uniform(2, 30)
        t = created
        title, content, digest, stats = revisions[0]
        rev1 = self.revision(item_id, 1, title, content, digest, author, t, None, stats)
        self.event(item_id, rev1, "create", "", State.DRAFT, author, t)
        fields = {"state": State.DRAFT, "latest_revision_id": rev1, "live_revision_id": None, "review_round": 0,
                  "title": title, "owner_id": author.pk, "created_at": created}  # fmt: skip
        if state == "draft":
            return {**fields, "updated_at": t}
        t = created + DAY * rng.uniform(0.5, 1.5)
        self.event(item_id, rev1, "submit", State.DRAFT, State.IN_REVIEW, author, t)
        fields.update(state=State.IN_REVIEW, review_round=1)
        if state == "in_review":
            return {**fields, **self.submission(author, t), "updated_at": t}
        t = approved_at
        if state == "changes_requested":
            comment = "Please check the dose in the second section against the current label."
            self.review(rev1, digest, 1, Decision.CHANGES_REQUESTED, reviewer, t, comment)
            self.event(item_id, rev1, "request_changes", State.IN_REVIEW, State.CHANGES_REQUESTED, reviewer, t, comment)
            return {**fields, "state": State.CHANGES_REQUESTED, "updated_at": t}
        self.review(rev1, digest, 1, Decision.APPROVED, reviewer, t)
        self.event(item_id, rev1, "approve", State.IN_REVIEW, State.APPROVED, reviewer, t)
        fields["state"] = State.APPROVED
        if state in ("approved", "scheduled"):
            if state == "scheduled":
                at = self.now + DAY * rng.uniform(1, 14)
                t = t + HOUR
                self.event(item_id, rev1, "schedule", State.APPROVED, State.APPROVED, author, t,
                           f"Scheduled to publish at {at:%Y-%m-%d %H:%M}.")  # fmt: skip
                fields.update(publish_at=at, scheduled_by_id=author.pk)
            return {**fields, "updated_at": t}
        published = approved_at + HOUR * rng.uniform(0.1, 3)
        published = min(published, self.now - HOUR * 0.01)
        self.event(item_id, rev1, "publish", State.APPROVED, State.PUBLISHED, author, published)
        last_reviewed = approved_at
        reviewers = [{"name": self.name(reviewer), "credentials": self.credentials(reviewer)}]
        t = published
        if reaffirmed:
            second = rng.choice([r for r in self.reviewers if r != reviewer] or self.reviewers)
            self.review(rev1, digest, 1, Decision.REAFFIRMED, second, reviewed, "Still accurate.")
            self.event(item_id, rev1, "reaffirm", State.PUBLISHED, State.PUBLISHED, second, reviewed, "Still accurate.")
            last_reviewed = t = reviewed
            reviewers = [{"name": self.name(second), "credentials": self.credentials(second)}]
        fields.update(
            state=State.PUBLISHED, live_revision_id=rev1, first_published_at=published, last_published_at=published,
            last_reviewed_at=last_reviewed, live_reviewers=reviewers,
            next_review_due=last_reviewed.astimezone(self.now.tzinfo).date() + datetime.timedelta(days=interval),
        )  # fmt: skip
        if state == "archived":
            t = min(t + DAY * rng.uniform(1, 30), self.now - HOUR * 0.02)
            self.event(item_id, rev1, "archive", State.PUBLISHED, State.ARCHIVED, author, t, "Replaced.")
            fields.update(state=State.ARCHIVED, live_revision_id=None, next_review_due=None)
        elif state in ("published_draft", "published_review"):
            title2, content2, digest2, stats2 = revisions[1]
            editor = rng.choice(self.editors)
            t = min(t + DAY * rng.uniform(1, 40), self.now - HOUR * 0.05)
            rev2 = self.revision(item_id, 2, title2, content2, digest2, editor, t, rev1, stats2)
            self.event(item_id, rev2, "save_draft", State.PUBLISHED, State.DRAFT, editor, t)
            fields.update(state=State.DRAFT, latest_revision_id=rev2, title=title2)
            if state == "published_review":
                t = t + HOUR
                self.event(item_id, rev2, "submit", State.DRAFT, State.IN_REVIEW, editor, t)
                fields.update(state=State.IN_REVIEW, review_round=2, **self.submission(editor, t))
        return {**fields, "updated_at": t}

    def item_row(self, item_id: int, kind: str, fields: dict, interval: int | None) -> None:
        self.t_item.add(id=item_id, kind=kind, review_interval_days=interval, **fields)

    # -- glossary
    def glossary(self) -> None:
        from healthlib.content_schema import clean_term_content
        from healthlib.glossary_linker import Glossary, Term
        from healthlib.models import Kind, State, content_hash
        from healthlib.readability import measure

        args = self.args
        names = term_names(args.terms, random.Random(f"{self.seed}:names"))
        slugs, seen = [], set()
        for name in names:
            slug = "-".join(name.lower().split())
            while slug in seen:
                slug += "-x"
            seen.add(slug)
            slugs.append(slug)
        self.term_mentions: list[str] = []
        published: list[Term] = []
        for number, (name, slug) in enumerate(zip(names, slugs, strict=True)):
            rng = random.Random(f"{self.seed}:term-state:{number}")
            content = term_content(number, name, self.seed, slugs)
            if self.args.verify_every and number % self.args.verify_every == 0:
                assert clean_term_content(content) == content, f"term {number}: content is not in canonical form"
            digest = content_hash(content)
            text_html = paragraphs_html("\n\n".join([content["short_definition"], content["full_definition"]]))
            stats = stats_of([measure(text_html)])
            item_id = self.ids["item"].next()
            state = pick_state(rng, TERM_STATES)
            fields = self.history(rng, item_id, state, [(name, content, digest, stats)], 365)
            self.item_row(item_id, Kind.GLOSSARY_TERM, fields, None)
            live = fields["state"] == State.PUBLISHED
            full_html = paragraphs_html(content["full_definition"]) if live else ""
            professional_html = paragraphs_html(content["professional_definition"]) if live else ""
            if self.args.verify_every and number % self.args.verify_every == 0:
                from healthlib.markup import render_markdown

                assert full_html in ("", render_markdown(content["full_definition"])), f"term {number}: html differs"
            self.t_term.add(
                contentitem_ptr_id=item_id, slug=slug, live_term=name if live else "",
                live_aliases=content["aliases"] if live else [], live_pronunciation=content["pronunciation"] if live else "",
                live_short_definition=content["short_definition"] if live else "",
                live_full_definition_html=full_html, live_professional_definition_html=professional_html,
                live_related_slugs=content["related_terms"] if live else [],
            )  # fmt: skip
            if live:
                published.append(Term(slug, name, tuple(content["aliases"]), content["short_definition"]))
                self.search_entry(item_id, Kind.GLOSSARY_TERM, name, self._term_text(content, full_html, professional_html),
                                  f"/health/glossary/{slug}/", aliases=content["aliases"])  # fmt: skip
                if len(self.term_mentions) < 4000:
                    self.term_mentions.append(name if rng.random() < 0.8 else (content["aliases"] or [name])[0])
        self.published_terms = published
        self.linker = Glossary.build(published)

    def _term_text(self, content, full_html, professional_html) -> str:
        from healthlib.markup import plain_text

        return " ".join(
            [
                content["short_definition"],
                " ".join(content["aliases"]),
                plain_text(full_html),
                plain_text(professional_html),
            ]
        ).strip()

    def search_entry(self, item_id, kind, title, text, url, aliases=()) -> None:
        if self.t_search is None:
            return
        clean = re.sub(r"\s+", " ", re.sub("[\x00\x02\x03]", " ", text)).strip()
        names = "\n".join(filter(None, (" ".join(alias.split()) for alias in aliases)))  # as search.entry_fields
        self.t_search.add(item_id=item_id, kind=kind, title=" ".join(title.split()), aliases=names, body_text=clean,
                          url=url, indexed_at=self.now)  # fmt: skip

    # -- articles
    def articles(self) -> None:
        from healthlib.content_schema import clean_article_content
        from healthlib.markup import plain_text, render_document, sanitize
        from healthlib.models import Article, Kind, content_hash
        from healthlib.readability import measure

        args = self.args
        pool_rng = random.Random(f"{self.seed}:pool")
        mentions = self.term_mentions
        sections = section_pool(pool_rng, mentions)
        intros = intro_pool(pool_rng, mentions)
        log("rendering the section pool", quiet=args.quiet)
        rendered, tocs, section_stats = [], [], []
        toc_open, toc_close = '<div class="toc">\n<ul>\n', "</ul>\n</div>\n"
        for text in sections:
            document = render_document(text)
            toc = document.toc_html
            assert toc.startswith(toc_open) and toc.endswith(toc_close), toc[:80]
            rendered.append(document.html)
            tocs.append(toc[len(toc_open) : -len(toc_close)])
            section_stats.append(measure(document.html))
        intro_html = [render_document(text).html for text in intros]
        # Search text per pooled part: the words of the linked body without its inline definitions.
        section_text = [plain_text(h) for h in rendered]
        intro_text = [plain_text(h) for h in intro_html]
        intro_stats = [measure(h) for h in intro_html]
        topic_ids = [t.pk for t in self.topics]
        through = Table(Article.topics.through)
        verified = 0
        started = time.monotonic()
        for number in range(args.articles):
            rng = random.Random(f"{self.seed}:article:{number}")
            target = rng.randint(1000, 3000)
            intro = rng.randrange(INTRO_POOL)
            chosen, words = [], section_stats and intro_stats[intro].words
            order = rng.sample(range(SECTION_POOL), 20)
            for index in order:
                chosen.append(index)
                words += section_stats[index].words
                if words >= target:
                    break
            noun = rng.choice(HEADING_NOUNS)
            title = f"{rng.choice(HEADING_WORDS)} {noun}: {rng.choice(WORDS)} {rng.choice(WORDS)} guide {number}"
            summary = Text(rng, []).sentence(12, 24)
            body = "\n\n".join([intros[intro]] + [sections[i] for i in chosen])
            references = [
                {"title": f"{rng.choice(HEADING_NOUNS).capitalize()} and {rng.choice(HEADING_NOUNS)}",
                 "publisher": rng.choice(PUBLISHERS), "url": f"https://example.org/ref/{number}/{k}",
                 "year": rng.randint(2012, 2025)}
                for k in range(rng.randint(3, 8))
            ]  # fmt: skip
            content = {"title": title, "summary": summary, "body": body, "references": references}
            html = "\n".join([intro_html[intro]] + [rendered[i] for i in chosen])
            toc = sanitize(toc_open + "".join(tocs[i] for i in chosen) + toc_close)
            summary_stats = measure(f"<p>{html_lib.escape(summary, quote=False)}</p>")
            stats = stats_of([summary_stats, intro_stats[intro], *(section_stats[i] for i in chosen)])
            if args.verify_every and number % args.verify_every == 0:
                assert clean_article_content(content) == content, f"article {number}: content is not canonical"
                document = render_document(body)
                assert document.html == html, f"article {number}: assembled HTML differs from render_document"
                assert document.toc_html == toc, f"article {number}: assembled table of contents differs"
                full = measure(render_document(summary + "\n\n" + body).html)
                assert stats == stats_of([full]), f"article {number}: readability differs {stats} {stats_of([full])}"
                verified += 1
            digest = content_hash(content)
            revisions = [(title, content, digest, stats)]
            state = pick_state(rng, ARTICLE_STATES)
            if state in ("published_draft", "published_review"):
                content2 = {**content, "summary": summary + " Updated."}
                stats2 = {**stats}
                revisions.append((title, content2, content_hash(content2), stats2))
            interval = 180 if rng.random() < 0.15 else None
            item_id = self.ids["item"].next()
            fields = self.history(rng, item_id, state, revisions, interval or 365)
            self.item_row(item_id, Kind.ARTICLE, fields, interval)
            live = fields["live_revision_id"] is not None
            slug = f"article-{number}"
            linked = live and number % args.link_every == 0
            body_html = self.linker.link(html) if linked else (html if live else "")
            self.t_article.add(
                contentitem_ptr_id=item_id, slug=slug, article_type=rng.choice(ARTICLE_TYPES),
                live_title=title if live else "", live_summary=summary if live else "", live_body_html=body_html,
                live_toc_html=toc if live else "", live_references=references if live else [],
            )  # fmt: skip
            for topic in rng.sample(topic_ids, rng.randint(1, 3)):
                through.add(id=self.ids["m2m"].next(), article_id=item_id, topic_id=topic)
            if live:
                text = " ".join([summary, intro_text[intro], *(section_text[i] for i in chosen)])
                self.search_entry(item_id, Kind.ARTICLE, title, text, f"/health/articles/{slug}/")
            if number and number % 5000 == 0:
                rate = number / (time.monotonic() - started)
                log(f"{number} articles ({rate:.0f}/s)", quiet=args.quiet)
            if number % CHUNK == CHUNK - 1:
                self.flush()
        through.flush()
        self.verified = verified

    def flush(self) -> None:
        # Parents before children: items, then revisions (FK to items), then the item's revision FKs hold.
        for table in self.tables:
            if table is not None:
                table.flush()

    def run(self) -> dict:
        from django.core.management.color import no_style
        from django.db import connection, transaction

        from healthlib import models as m

        args = self.args
        started = time.monotonic()
        self.t_item = Table(m.ContentItem)
        self.t_article = Table(m.Article)
        self.t_term = Table(m.GlossaryTerm)
        self.t_revision = Table(m.Revision)
        self.t_review = Table(m.Review)
        self.t_event = Table(m.WorkflowEvent)
        self.t_search = Table(m.SearchEntry) if hasattr(m, "SearchEntry") else None
        # Items and revisions point at each other; Django creates foreign keys DEFERRABLE INITIALLY
        # DEFERRED on both databases, so they are checked when the transaction commits.
        self.tables = [self.t_item, self.t_article, self.t_term, self.t_revision, self.t_review, self.t_event,
                       self.t_search]  # fmt: skip
        with transaction.atomic():
            self.people()
            log(f"{args.terms} glossary terms", quiet=args.quiet)
            self.glossary()
            self.flush()
            log(f"{args.articles} articles", quiet=args.quiet)
            self.articles()
            self.flush()
            with connection.cursor() as cursor:
                for sql in connection.ops.sequence_reset_sql(
                    no_style(),
                    [m.ContentItem, m.Revision, m.Review, m.WorkflowEvent, m.Article.topics.through],
                ):
                    cursor.execute(sql)
        counts = {t.model.__name__: t.count for t in self.tables if t is not None}
        log("storing the reader pages of live articles", quiet=args.quiet)
        counts["stored pages"] = store_pages()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        elapsed = time.monotonic() - started
        log(f"done in {elapsed:.0f} s: {counts}; {self.verified} articles verified against render_document",
            quiet=args.quiet)  # fmt: skip
        return {"seconds": round(elapsed, 1), "rows": counts, "verified_articles": self.verified}


def store_pages(batch: int = 500) -> int:
    """Store every live article's reader page and glossary mentions as publishing does
    (``healthlib.reader_pages.derive``), in bulk: nothing else writes while the generator runs."""
    from django.db import transaction

    from healthlib import reader_pages
    from healthlib.models import Article, TermMention

    fields = ["live_page_html", "live_page_key"]
    live = Article.objects.filter(live_revision__isnull=False).prefetch_related("topics").order_by("pk")
    stored, pending = 0, []

    def write() -> None:
        with transaction.atomic():
            Article.objects.bulk_update(pending, fields)
            TermMention.objects.filter(article__in=pending).delete()
            TermMention.objects.bulk_create(
                [
                    TermMention(article_id=a.pk, slug=slug)
                    for a in pending
                    for slug in reader_pages.linked_term_slugs(a.live_body_html)
                ]
            )
        pending.clear()

    for article in live.iterator(chunk_size=batch):
        reader_pages.derive(article)
        pending.append(article)
        stored += 1
        if len(pending) == batch:
            write()
    if pending:
        write()
    return stored


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    setup()
    return Generator(args).run()


if __name__ == "__main__":
    main()
