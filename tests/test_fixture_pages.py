"""Hand-written fixture pages: an independent check of ``extract_page``.

Each ``tests/fixtures/pages/<name>.json`` describes one page whose raw bytes (as served) are
in ``<name>.html``::

    {"url": "...", "headers": {...} (optional), "why": "the pattern or trap",
     "expect": {subset of PageFacts.to_dict() keys, plus the expect_* checks below}}

Only keys present in ``expect`` are compared, exactly; a key set to null must be None.
``items`` compares the full list of {title, url, date} (and ``text`` only if an expected
item gives it). Extra checks:

- ``expect_links_contain``: urls that must be in ``links``
- ``expect_hidden_links``: urls that must appear in ``link_details``, every time with visible False
- ``expect_visible_links``: urls that must appear in ``link_details`` with visible True
- ``expect_warnings_nonempty``: true when the page must produce at least one warning
"""

from __future__ import annotations

import difflib
import importlib
import json
from pathlib import Path
from typing import Any

import pytest

FIXTURE_DIR = Path(__file__).parent / "fixtures" / "pages"
CASES = sorted(FIXTURE_DIR.glob("*.json"))
MIN_FIXTURES = 40

FACT_KEYS = {
    "title", "publish_date", "publish_time", "written_date", "written_date_precision",
    "source", "issuer", "index_no", "doc_no", "items", "links", "link_details",
    "encoding", "is_html", "truncated", "warnings",
}
CHECK_KEYS = {"expect_links_contain", "expect_hidden_links", "expect_visible_links", "expect_warnings_nonempty"}
TOP_KEYS = {"url", "headers", "why", "expect"}


def _load(case: Path) -> dict[str, Any]:
    return json.loads(case.read_text(encoding="utf-8"))


def _extractor(monkeypatch: pytest.MonkeyPatch):
    """The extractor under test. Called inside each test, so a missing module FAILS the test
    (not an error in setup, never a skip)."""
    try:
        module = importlib.import_module("govmon.crawler.extract")
    except ImportError as err:
        pytest.fail(f"govmon.crawler.extract cannot be imported: {err!r}")
    if not hasattr(module, "extract_page"):
        pytest.fail("govmon.crawler.extract has no extract_page")
    # Let an internal exception surface as a test failure instead of a swallowed warning.
    if hasattr(module, "RAISE_ERRORS"):
        monkeypatch.setattr(module, "RAISE_ERRORS", True)
    return module.extract_page


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True)


def _diff(expected: Any, got: Any) -> str:
    lines = difflib.unified_diff(_show(expected).splitlines(), _show(got).splitlines(),
                                 "expected", "got", lineterm="", n=2)
    return "\n".join(lines)


def _compare(expect: dict[str, Any], facts: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    for key, want in expect.items():
        if key in CHECK_KEYS:
            continue
        got = facts.get(key, "<missing key>")
        if key == "items":
            with_text = any("text" in item for item in want)
            fields = ("title", "url", "date", "text") if with_text else ("title", "url", "date")
            if isinstance(got, list):
                got = [{f: item.get(f) for f in fields} for item in got]
            want = [{f: item.get(f) for f in fields} for item in want]
            if got != want:
                problems.append(f"items differ ({len(want)} expected, "
                                f"{len(got) if isinstance(got, list) else got} got):\n{_diff(want, got)}")
        elif got != want:
            if isinstance(want, (list, dict)) or isinstance(got, (list, dict)):
                problems.append(f"{key} differs:\n{_diff(want, got)}")
            else:
                problems.append(f"{key}: expected {want!r}, got {got!r}")

    links = facts.get("links") or []
    details = facts.get("link_details") or []
    for url in expect.get("expect_links_contain", []):
        if url not in links:
            problems.append(f"links: missing {url!r}")
    for url in expect.get("expect_hidden_links", []):
        seen = [d for d in details if d.get("url") == url]
        if not seen:
            problems.append(f"hidden link {url!r} not found in link_details")
        elif any(d.get("visible") for d in seen):
            problems.append(f"link {url!r} should be hidden, got {[(d.get('visible'), d.get('hidden_reason')) for d in seen]}")
    for url in expect.get("expect_visible_links", []):
        seen = [d for d in details if d.get("url") == url]
        if not seen:
            problems.append(f"visible link {url!r} not found in link_details")
        elif not any(d.get("visible") for d in seen):
            problems.append(f"link {url!r} should be visible, got {[(d.get('visible'), d.get('hidden_reason')) for d in seen]}")
    if expect.get("expect_warnings_nonempty") and not facts.get("warnings"):
        problems.append("warnings: expected at least one warning, got none")
    return problems


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_fixture_page(case: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extract_page = _extractor(monkeypatch)
    spec = _load(case)
    body = case.with_suffix(".html").read_bytes()
    facts = extract_page(spec["url"], body, spec.get("headers")).to_dict()
    problems = _compare(spec["expect"], facts)
    if problems:
        pytest.fail(f"{case.stem} — {spec['why']}\nurl: {spec['url']}\n" + "\n".join(f"- {p}" for p in problems),
                    pytrace=False)


def test_enough_fixtures() -> None:
    assert len(CASES) >= MIN_FIXTURES, f"only {len(CASES)} fixture pages in {FIXTURE_DIR}"


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_fixture_is_well_formed(case: Path) -> None:
    spec = _load(case)
    assert isinstance(spec, dict) and set(spec) <= TOP_KEYS, f"unexpected top-level keys: {set(spec) - TOP_KEYS}"
    assert spec.get("url", "").startswith(("http://", "https://")), "url must be absolute"
    assert isinstance(spec.get("why"), str) and spec["why"].strip(), "every fixture says why it exists"
    headers = spec.get("headers")
    assert headers is None or (isinstance(headers, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                                 for k, v in headers.items()))
    expect = spec.get("expect")
    assert isinstance(expect, dict) and expect, "expect must be a non-empty object"
    unknown = set(expect) - FACT_KEYS - CHECK_KEYS
    assert not unknown, f"unknown expect keys (typo?): {unknown}"
    assert case.with_suffix(".html").is_file(), "the page bytes are missing"
    for item in expect.get("items", []):
        assert {"title", "url", "date"} <= set(item), f"item needs title/url/date: {item}"
        assert item["url"].startswith(("http://", "https://")), item
    for key in ("publish_date", "written_date"):
        value = expect.get(key)
        assert value is None or (isinstance(value, str) and len(value) in (7, 10)), (key, value)


def test_oversized_page_is_truncated_without_crashing(monkeypatch: pytest.MonkeyPatch) -> None:
    extract_page = _extractor(monkeypatch)
    head = ("<!DOCTYPE html><html><head><meta charset=\"utf-8\">"
            "<title>岚溪县2023年度部门预算公开目录_岚溪县人民政府</title></head><body>"
            "<h1>岚溪县2023年度部门预算公开目录</h1><div class=\"info\">发布日期：2023-02-10</div>"
            "<table class=\"data\">")
    row = "<tr><td>{0}</td><td>岚溪县某某单位2023年度部门预算及“三公”经费预算情况说明</td><td>万元</td><td>{1}.50</td></tr>\n"
    rows: list[str] = []
    size = len(head.encode())
    i = 0
    while size < 10 * 1024 * 1024:
        r = row.format(i, 1000 + i % 9000)
        rows.append(r)
        size += len(r.encode())
        i += 1
    body = (head + "".join(rows) + "</table></body></html>").encode("utf-8")
    assert len(body) >= 10 * 1024 * 1024
    facts = extract_page("http://www.lanxi-xian.gov.cn/zwgk/czzj/bmys/202302/t20230210_1780001.html", body,
                         {"Content-Type": "text/html; charset=utf-8"}).to_dict()
    assert facts["truncated"] is True
    assert facts["warnings"], "a truncated page must say so in warnings"
    assert facts["is_html"] is True
    assert facts["title"] == "岚溪县2023年度部门预算公开目录"
