"""The immunotherapy content pack: it validates, imports, and meets its editorial promises."""

from __future__ import annotations

import io
import re
from functools import cache
from pathlib import Path

import pytest
import textstat
from django.core.management import call_command

from healthlib.conf import healthlib_settings
from healthlib.content_files import ContentFolder, read_folder
from healthlib.html import text_blocks
from healthlib.markup import render_document
from healthlib.models import Article, ArticleType, GlossaryTerm, Revision
from healthlib.readability import measure

PACK = Path(__file__).resolve().parent.parent / "immunotherapy" / "content"
SECTIONS = [
    "Overview",
    "How it works",
    "Who it is for",
    "Risks and side effects",
    "Outlook",
    "When to call your care team",
]
# Terms the issue names explicitly.
REQUIRED_TERMS = [
    "t-cell", "checkpoint-protein", "pd-1", "pd-l1", "ctla-4", "antigen", "cytokine", "cytokine-release-syndrome",
    "icans", "monoclonal-antibody", "biosimilar", "bcg", "interleukin-2", "interferon", "neoantigen",
    "immune-related-adverse-event",
    # Added with the content review (issue 14).
    "hyperprogression", "myocarditis", "diabetic-ketoacidosis", "tocilizumab", "hla", "lynch-syndrome", "recist",
    "neutropenia",
]  # fmt: skip
POLICY_PAGES = {"editorial-process", "advertising-policy"}
# Topics every top health publisher covers; each has its own article.
REQUIRED_ARTICLES = [
    "pregnancy-fertility-and-breastfeeding", "vaccines-during-and-after-immunotherapy",
    "finding-and-joining-a-clinical-trial", "cost-insurance-and-prior-authorization", "immunotherapy-in-children",
]  # fmt: skip
# Health-literacy limits for every clinical article: US grade 8 by Flesch-Kincaid, 9 by SMOG.
FK_LIMIT = 8.0
SMOG_LIMIT = 9.0
# Articles whose "When to call" list covers hormone problems (checkpoint inhibitors and what they treat):
# diabetes from checkpoint inhibitors often first shows as diabetic ketoacidosis, an emergency.
HORMONE_LISTS = [
    "immunotherapy-side-effects", "checkpoint-inhibitors", "immunotherapy-overview", "how-immunotherapy-is-given",
    "immunotherapy-vs-chemotherapy-and-targeted-therapy", "questions-to-ask-your-oncologist", "monoclonal-antibodies",
    "pregnancy-fertility-and-breastfeeding", "finding-and-joining-a-clinical-trial", "immunotherapy-in-children",
]  # fmt: skip
DKA_SIGNS = ["vomiting", "belly pain", "fast breathing", "fruity", "confusion"]


@cache
def pack() -> ContentFolder:
    return read_folder(PACK)


def articles():
    return pack().articles


def non_policy():
    return [a for a in articles() if a.article_type != ArticleType.POLICY]


def article_ids():
    return [a.slug for a in articles()]


def grade(article) -> float | None:
    """Exactly what Revision.readability_grade stores for this content."""
    content = article.content
    return measure(render_document("\n\n".join([content["summary"], content["body"]])).html).grade


def test_the_pack_validates():
    folder = pack()
    assert len(non_policy()) >= 10
    assert len(folder.terms) >= 60
    assert {a.slug for a in articles() if a.article_type == ArticleType.POLICY} == POLICY_PAGES
    assert {t.slug for t in folder.topics} >= {topic for a in articles() for topic in a.topics}


@pytest.mark.parametrize("slug", [a.slug for a in read_folder(PACK).articles if a.article_type != "policy"])
def test_article_has_the_sections_readers_expect(slug):
    article = next(a for a in articles() if a.slug == slug)
    headings = re.findall(r"^## (.+?)\s*$", article.content["body"], re.MULTILINE)
    assert [h for h in headings if h in SECTIONS] == SECTIONS, headings
    # A fast-moving field: reviewed at least yearly.
    assert article.review_interval_days is not None and article.review_interval_days <= 365


@pytest.mark.parametrize("slug", [a.slug for a in read_folder(PACK).articles])
def test_article_cites_sources_and_reads_within_the_target_grade(slug):
    article = next(a for a in articles() if a.slug == slug)
    references = article.content["references"]
    assert len(references) >= 3
    assert all(
        ref["title"] and ref["publisher"] and ref["url"].startswith("https://") and ref["year"] for ref in references
    )
    assert article.content["summary"]
    measured = grade(article)
    assert measured is not None and measured <= healthlib_settings.READABILITY_TARGET_GRADE, measured


def test_every_glossary_term_is_complete():
    terms = pack().terms
    for term in terms:
        content = term.content
        assert content["pronunciation"], term.slug
        assert content["professional_definition"], term.slug
        assert content["full_definition"], term.slug
        assert content["related_terms"], term.slug
        # A one-sentence definition for patients.
        assert len(re.findall(r"[.!?](?:\s|$)", content["short_definition"])) == 1, term.slug
    slugs = {t.slug for t in terms}
    assert set(REQUIRED_TERMS) <= slugs
    assert {related for t in terms for related in t.content["related_terms"]} <= slugs


def test_the_glossary_covers_the_articles_words():
    text = " ".join(f"{a.content['summary']} {a.content['body']}" for a in articles()).lower()
    used = [t for t in pack().terms if any(name.lower() in text for name in [t.content["term"], *t.content["aliases"]])]
    assert len(used) >= 60
    # Every glossary link an article makes points at a term in the pack.
    linked = set(re.findall(r"/health/glossary/([-a-z0-9]+)/", text))
    assert linked <= {t.slug for t in pack().terms}


def test_the_whole_pack_imports_and_stores_the_same_grades(editor):
    out = io.StringIO()
    call_command("healthlib_import", str(PACK), "--user", "editor", stdout=out)
    assert Article.objects.count() == len(articles())
    assert GlossaryTerm.objects.count() == len(pack().terms)
    stored = dict(Revision.objects.filter(item__kind="article").values_list("item__article__slug", "readability_grade"))
    assert stored == {a.slug: grade(a) for a in articles()}
    # Importing the pack again is a no-op.
    out = io.StringIO()
    call_command("healthlib_import", str(PACK), "--user", "editor", stdout=out)
    assert f"articles: 0 new, 0 changed, {len(articles())} unchanged" in out.getvalue()


def rendered_body(article) -> str:
    return render_document(article.content["body"]).html


def textstat_grades(html: str) -> tuple[float, float]:
    """textstat's Flesch-Kincaid and SMOG grades, each paragraph, list item and heading counted as a sentence."""
    text = " ".join(block if block[-1] in ".!?" else f"{block}." for block in text_blocks(html))
    return textstat.flesch_kincaid_grade(text), textstat.smog_index(text)


@pytest.mark.parametrize("slug", [a.slug for a in read_folder(PACK).articles if a.article_type != "policy"])
def test_clinical_article_is_within_both_limits_by_both_measures(slug):
    article = next(a for a in articles() if a.slug == slug)
    for html in (
        rendered_body(article),
        render_document(f"{article.content['summary']}\n\n{article.content['body']}").html,
    ):
        ours = measure(html)
        fk, smog = textstat_grades(html)
        assert ours.grade <= FK_LIMIT and ours.smog <= SMOG_LIMIT, (ours.grade, ours.smog)
        assert fk <= FK_LIMIT and smog <= SMOG_LIMIT, (fk, smog)


def test_the_pack_covers_what_readers_look_for():
    assert set(REQUIRED_ARTICLES) <= {a.slug for a in articles()}
    checkpoint = next(a for a in articles() if a.slug == "checkpoint-inhibitors").content["body"]
    assert "Pseudoprogression" in checkpoint and "Hyperprogression" in checkpoint


def test_every_glossary_term_has_an_alias():
    assert [t.slug for t in pack().terms if not t.content["aliases"]] == []


def when_to_call(slug: str) -> str:
    body = next(a for a in articles() if a.slug == slug).content["body"]
    return body.split("## When to call your care team", 1)[1].lower()


@pytest.mark.parametrize("slug", HORMONE_LISTS)
def test_hormone_when_to_call_lists_send_dka_and_adrenal_crisis_to_emergency_care(slug):
    section = when_to_call(slug)
    emergency = section.split("call 911 or go to the emergency room", 1)[1]
    assert all(sign in emergency for sign in DKA_SIGNS), emergency
    assert "adrenal crisis" in emergency and "hydrocortisone shot" in emergency
    assert "keep fluids down" in section.split("call 911", 1)[0]


@pytest.mark.parametrize("slug", [a.slug for a in read_folder(PACK).articles if a.article_type != "policy"])
def test_every_when_to_call_list_mentions_vomiting(slug):
    assert "vomiting" in when_to_call(slug)


def text_of(kind: str, slug: str) -> str:
    items = articles() if kind == "article" else pack().terms
    content = next(item for item in items if item.slug == slug).content
    return " ".join(str(value) for value in content.values())


# (kind, slug, what the text must say, what it must no longer say): the corrections of the content review.
CORRECTIONS = [
    ("term", "adrenal-insufficiency", ["call 911 or go to the emergency room", "emergency hydrocortisone shot"],
     ["call your care team right away if you feel very weak"]),
    ("article", "immunotherapy-side-effects", ["dka", "fruity", "need insulin shots", "pills do not work",
     "uncommon", "cause death", "tocilizumab"], ["daily pills usually keep them"]),
    ("term", "diabetic-ketoacidosis", ["call 911", "insulin"], []),
    ("article", "immunomodulators", ["4 weeks before the first pill", "4 weeks after the last one",
     "do not give blood or sperm during treatment, during breaks, or for 4 weeks after you stop"],
     ["do not donate blood or sperm while you take these drugs.", "a mild fever"]),
    ("term", "immunomodulatory-drug", ["4 weeks before", "4 weeks after"], []),
    ("article", "adoptive-cell-therapy", ["parkinsonism", "guillain-barré", "iec-hs", "tocilizumab", "outpatient",
     "keeps white blood cells", "t cells are picked out", "blood counts low for weeks or months", "2 weeks",
     "fda-eliminates-risk-evaluation"], ["keeps the t cells"]),
    ("term", "cytokine-release-syndrome", ["first drug used for crs is most often tocilizumab"],
     ["with medicines that block certain cytokines, with steroids"]),
    ("term", "pneumonitis", ["uncommon", "a few people out of every 100"], ["rare but serious"]),
    ("term", "myocarditis", ["cause death"], []),
    ("term", "hypophysitis", ["base of the brain"], ["pituitary gland in the brain"]),
    ("article", "checkpoint-inhibitors", ["base of the brain", "needs insulin", "myocarditis), which can cause death",
     "atezolizumab, nivolumab and pembrolizumab also come as a shot under the skin", "insulin shots for diabetes"],
     ["pituitary gland in the brain", "you may need to take hormone pills for the rest"]),
    ("term", "immune-related-adverse-event", ["insulin shots for diabetes"], []),
    ("term", "car-t-cell-therapy", ["collects white blood cells", "t cells are picked out", "outpatient"],
     ["machine that collects t cells"]),
    ("term", "lymphodepletion", ["weeks or even months"], []),
    ("article", "how-immunotherapy-is-given", ["opdivo qvantig", "keytruda qlex", "tecentriq hybreza", "t cells are picked out",
     "at least 2 weeks", "often given as an outpatient"], ["t cells are collected from your blood"]),
    ("article", "monoclonal-antibodies", ['most of their generic names end in "mab,"'], ['spot them by name. their generic names']),
    ("article", "cancer-treatment-vaccines", ["for many years, sipuleucel-t has been the only cancer treatment vaccine approved",
     "ask your team which ones you can get now"], ["only a few are approved"]),
    ("term", "cancer-treatment-vaccine", ["for many years, only one has been approved by the fda"],
     ["only a few are approved"]),
    ("term", "bcg", ["100.4°f"], []),
    ("term", "bispecific-antibody", ["one drug company's name"], ["'bite'"]),
    # Condoms for 4 weeks after the last pill; the "4 weeks before" rule is for the person who could become pregnant.
    ("article", "pregnancy-fertility-and-breastfeeding", ["for 4 weeks after it, because the drug gets into semen"],
     ["must use a condom for the same time"]),
    ("article", "vaccines-during-and-after-immunotherapy", ["at least 1 year", "a flu shot may still be advised"],
     ["vaccines are often put off until at least 6 months"]),
    ("article", "immunotherapy-side-effects", ["jco.21.01440", "fda-eliminates-risk-evaluation"], []),
    # Trouble breathing is an emergency wherever a term names it.
    ("term", "infusion-reaction", ["call 911 if you have trouble breathing"], []),
    ("term", "cytokine-release-syndrome", ["call 911 if you have trouble breathing"], []),
    ("term", "pneumonitis", ["call 911 if you have severe trouble breathing"], []),
]  # fmt: skip


@pytest.mark.parametrize("kind, slug, present, absent", CORRECTIONS, ids=[f"{c[0]}:{c[1]}" for c in CORRECTIONS])
def test_safety_corrections_stay_made(kind, slug, present, absent):
    text = text_of(kind, slug).lower()
    for phrase in present:
        assert phrase in text, phrase
    for phrase in absent:
        assert phrase not in text, phrase
    if slug == "bispecific-antibody":
        # BiTE is one maker's format, not another name for every bispecific antibody.
        assert "BiTE" not in next(t for t in pack().terms if t.slug == slug).content["aliases"]


def test_bcg_fever_advice_never_contradicts_the_fever_threshold():
    # "A mild fever is common" next to "call for any fever of 100.4°F" confuses readers: a low fever
    # after BCG is one under 100.4°F, and at or over it the advice is always to call.
    for slug in ("immunomodulators", "cancer-treatment-vaccines"):
        text = text_of("article", slug).lower()
        assert "mild fever" not in text
        assert "fever of 100.4°f (38°c) or higher" in when_to_call(slug)
