"""Ad slots cut an article body only between its top-level sections."""

from __future__ import annotations

from healthlib.ad_slots import split_for_ads


def test_split_for_ads_only_cuts_between_sections():
    html = "<p>Intro</p><h2>A</h2><p>a</p><h2>B</h2><p>b</p><h2>C</h2><p>c</p>"
    parts = split_for_ads(html, ["after_intro", "after_section_2", "after_section_3", "end"])
    assert "".join(part.html for part in parts) == html
    assert [part.slot for part in parts] == ["after_intro", "after_section_2", "end"]
    assert all(part.html.startswith("<h2>") for part in parts[1:])
    assert split_for_ads(html, []) == split_for_ads(html, [])[:1]
    assert [p.slot for p in split_for_ads("<p>no headings</p>", ["after_intro", "after_section_1"])] == [""]


def test_headings_inside_other_elements_are_not_sections():
    html = "<p>Intro</p><h2>One</h2><blockquote><h2>Quoted</h2></blockquote><p>x<br>y</p><h2>Two</h2><p>z</p>"
    parts = split_for_ads(html, ["after_section_1"])
    assert [part.html for part in parts] == [
        "<p>Intro</p><h2>One</h2><blockquote><h2>Quoted</h2></blockquote><p>x<br>y</p>",
        "<h2>Two</h2><p>z</p>",
    ]
    assert [part.slot for part in parts] == ["after_section_1", ""]


def test_no_intro_slot_before_a_leading_section_or_blank_intro():
    for html in ("<h2>A</h2><p>a</p><h2>B</h2>", "\n  <h2>A</h2><p>a</p><h2>B</h2>"):
        assert [part.slot for part in split_for_ads(html, ["after_intro", "end"])] == ["end"]
        assert split_for_ads(html, ["after_intro", "end"])[0].html == html
