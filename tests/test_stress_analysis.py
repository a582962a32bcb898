"""The leak and error accounting of ``make stress`` (tests/stress/run.py), on synthetic records.

``make stress`` itself is not part of ``make test``; these tests prove that its checks would see
a leak or an error if one happened.
"""

from __future__ import annotations

import json

from tests.stress.run import MARKER, analyse

GHOST, LIVE = "zzghost000deadbeef", "zzlive000deadbeef"


def log(tmp_path, began: float = 100.0):
    path = tmp_path / "published.jsonl"
    entry = {"number": 0, "slug": "s", "ghost": GHOST, "live": LIVE, "drafted_at": 90.0,
             "publish_began": began, "published": began + 0.2}  # fmt: skip
    path.write_text(json.dumps(entry) + "\n")
    return path


def test_marker_pattern_matches_both_kinds():
    body = f"<p>Revision marker {LIVE}.</p><p>{GHOST}</p>".encode()
    assert {m.group(0) for m in MARKER.finditer(body)} == {LIVE.encode(), GHOST.encode()}


def test_live_marker_after_its_publication_began_is_fine(tmp_path):
    result = analyse([(100.0, 100.1, "/a/", 200, (LIVE.encode(),))], [], log(tmp_path), 1)
    assert result["leaks"] == 0 and result["errors"] == 0 and result["live_markers_seen"] == 1


def test_live_marker_served_before_its_publication_began_is_a_leak(tmp_path):
    result = analyse([(98.0, 99.5, "/a/", 200, (LIVE.encode(),))], [], log(tmp_path), 1)
    assert result["leaks"] == 1
    assert "before its publication began" in result["leak_samples"][0]


def test_ghost_marker_is_always_a_leak(tmp_path):
    result = analyse([(200.0, 200.1, "/a/", 200, (GHOST.encode(),))], [], log(tmp_path), 1)
    assert result["leaks"] == 1 and "ghost" in result["leak_samples"][0]


def test_marker_of_no_logged_revision_is_a_leak(tmp_path):
    result = analyse([(200.0, 200.1, "/a/", 200, (b"zzlive001cafecafe",))], [], log(tmp_path), 1)
    assert result["leaks"] == 1


def test_5xx_and_transport_failures_are_errors(tmp_path):
    records = [(100.0, 100.1, "/a/", 500, ()), (100.0, 100.1, "/a/", 200, ()), (100.0, 100.1, "/b/", 503, ())]
    result = analyse(records, ["/c/: ConnectionResetError()"], log(tmp_path), 1)
    assert result["errors"] == 3
    assert result["statuses"] == {200: 1, 500: 1, 503: 1}
