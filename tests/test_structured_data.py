"""JSON-LD on reader pages: valid JSON, the right schema.org shape, and inert inside <script>."""

from __future__ import annotations

import json
import re

from healthlib.structured_data import json_ld_script
from tests import reader_fixtures
from tests.conftest import ARTICLE_CONTENT, edited
from tests.reader_fixtures import TERM_CONTENT, publish

clear_page_cache = reader_fixtures.clear_page_cache
library = reader_fixtures.library
term = reader_fixtures.term
topic = reader_fixtures.topic
wf = reader_fixtures.wf

SCRIPT = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


def json_ld(response) -> list[dict]:
    return [json.loads(block) for block in SCRIPT.findall(response.content.decode())]


def test_article_page_is_a_medical_web_page_with_reviewer_and_dates(client, library):
    article = library["article"]
    (data,) = json_ld(client.get("/health/articles/checkpoint-inhibitors/"))
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "MedicalWebPage"
    assert data["name"] == "Checkpoint inhibitors"
    assert data["description"] == ARTICLE_CONTENT["summary"]
    assert data["url"] == "http://testserver/health/articles/checkpoint-inhibitors/"
    assert data["lastReviewed"] == article.last_reviewed_at.date().isoformat()
    assert data["datePublished"] == article.first_published_at.isoformat()
    assert data["dateModified"] >= data["datePublished"]
    assert data["reviewedBy"] == [
        {
            "@type": "Person",
            "name": "Reviewer",
            "honorificSuffix": "MD",
            "hasCredential": {"@type": "EducationalOccupationalCredential", "name": "MD"},
        }
    ]
    assert data["medicalAudience"] == {"@type": "Patient"}
    assert data["about"] == [
        {"@type": "Thing", "name": "Treatment types", "url": "http://testserver/health/topics/treatment-types/"}
    ]
    assert data["citation"][0] == {
        "@type": "CreativeWork",
        "name": "Checkpoint inhibitors",
        "url": "https://www.cancer.gov/",
        "publisher": {"@type": "Organization", "name": "NCI"},
        "datePublished": "2022",
    }
    (mention,) = data["mentions"]
    assert mention["@type"] == "DefinedTerm" and mention["name"] == "T cell"
    assert mention["url"] == "http://testserver/health/glossary/t-cell/"
    assert mention["inDefinedTermSet"] == "http://testserver/health/glossary/"
    assert data["publisher"] == {"@type": "Organization", "name": "Health library", "url": "http://testserver/health/"}


def test_reaffirm_moves_last_reviewed_and_reviewer(wf, client, library, reviewer2):
    review = wf.reaffirm(library["article"], reviewer2)
    (data,) = json_ld(client.get("/health/articles/checkpoint-inhibitors/"))
    assert data["lastReviewed"] == review.reviewed_at.date().isoformat()
    assert [person["name"] for person in data["reviewedBy"]] == ["Reviewer2"]
    assert data["reviewedBy"][0]["hasCredential"]["name"] == "PharmD"


def test_glossary_pages_are_defined_terms_in_a_set(client, library):
    (term_data,) = json_ld(client.get("/health/glossary/t-cell/"))
    assert term_data["@type"] == "DefinedTerm"
    assert term_data["name"] == "T cell"
    assert term_data["description"] == TERM_CONTENT["short_definition"]
    assert term_data["alternateName"] == ["T lymphocyte"]
    assert term_data["inDefinedTermSet"]["@type"] == "DefinedTermSet"
    assert term_data["inDefinedTermSet"]["url"] == "http://testserver/health/glossary/"
    (set_data,) = json_ld(client.get("/health/glossary/"))
    assert set_data["@type"] == "DefinedTermSet"
    assert [t["name"] for t in set_data["hasDefinedTerm"]] == ["T cell"]


HOSTILE = '</script><script>alert("x")</script><!-- & \u2028'


def test_json_ld_script_escapes_everything_that_could_end_the_script():
    html = json_ld_script({"name": HOSTILE, "nested": [{"x": "</SCRIPT >"}]})
    inner = html[len('<script type="application/ld+json">') : -len("</script>")]
    assert "<" not in inner and ">" not in inner and "&" not in inner
    assert json.loads(inner) == {"name": HOSTILE, "nested": [{"x": "</SCRIPT >"}]}


def test_hostile_content_cannot_break_out_of_json_ld(wf, client, editor, reviewer, topic):
    article = wf.create_article(
        editor,
        slug="hostile",
        article_type="guide",
        content=edited(
            ARTICLE_CONTENT,
            title="Title </script><script>alert(1)</script>",
            summary="Summary </script><img src=x onerror=alert(2)>",
            references=[{"title": "Ref </script>", "publisher": "<!--", "url": "https://example.org/", "year": 2020}],
        ),
    )
    topic.name = "Topic </script>"
    topic.save()
    article.topics.add(topic)
    publish(wf, article, editor, reviewer)
    page = client.get("/health/articles/hostile/").content.decode()
    assert "<script>alert" not in page
    assert "<img src=x" not in page
    (data,) = json_ld(client.get("/health/articles/hostile/"))
    assert data["name"] == "Title </script><script>alert(1)</script>"
    assert data["citation"][0]["name"] == "Ref </script>"
    assert data["about"][0]["name"] == "Topic </script>"
    # Exactly one JSON-LD block, and no inline script other than it.
    assert page.count('<script type="application/ld+json">') == 1
    assert page.count("<script") == 2 and '<script src="/static/healthlib/healthlib.js" defer></script>' in page
