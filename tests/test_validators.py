"""The built site against the standards: Nu HTML Checker on every page, and the rules of
RSS 2.0 and Atom (RFC 4287) that the W3C feed validator applies, checked on the parsed XML."""

from __future__ import annotations

import email.utils
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest

from .conftest import BASE_URL, PROJECT

VNU = PROJECT / "node_modules/vnu-jar/build/dist/vnu.jar"
ATOM = "{http://www.w3.org/2005/Atom}"
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}$"
)
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")


def needs(tool: Path | str | None, what: str) -> None:
    """CI installs every checker (.ci/run); on a developer's machine a missing one is a skip."""
    if tool is None or (isinstance(tool, Path) and not tool.exists()):
        if os.environ.get("CI"):
            pytest.fail(f"{what} is missing on CI: .ci/run must install it")
        pytest.skip(f"{what} not installed (npm install, and Java)")


def test_nu_html_checker_finds_no_errors_on_any_page(built: Path) -> None:
    needs(VNU, "vnu.jar")
    needs(shutil.which("java"), "java")
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--skip-non-html", "--errors-only", "--format", "gnu", str(built)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def feeds(built: Path) -> list[Path]:
    return [built / "feed.xml", *sorted((built / "tags").glob("*/feed.xml"))]


def test_rss_feeds_follow_rss_2_0(built: Path) -> None:
    for path in feeds(built):
        channel = ElementTree.parse(path).getroot().find("channel")
        assert channel is not None
        for required in ("title", "link", "description"):
            assert (channel.findtext(required) or "").strip(), f"{path}: channel {required}"
        assert channel.findtext("language") == "en-gb"
        self_links = [link for link in channel.findall(f"{ATOM}link") if link.get("rel") == "self"]
        assert [link.get("href") for link in self_links] == [BASE_URL + path.relative_to(built).as_posix()]
        assert self_links[0].get("type") == "application/rss+xml"
        guids = []
        for item in channel.findall("item"):
            assert item.findtext("title") and item.findtext("link", "").startswith(BASE_URL)
            assert RFC822.match(item.findtext("pubDate", "")), item.findtext("pubDate")
            assert email.utils.parsedate_to_datetime(item.findtext("pubDate", "")).tzinfo is not None
            guid = item.find("guid")
            assert guid is not None and guid.text and guid.get("isPermaLink") in ("true", "false")
            guids.append(guid.text)
        assert len(guids) == len(set(guids))
        if channel.findall("item"):
            assert RFC822.match(channel.findtext("lastBuildDate", ""))


def test_atom_feed_follows_rfc_4287(built: Path) -> None:
    feed = ElementTree.parse(built / "atom.xml").getroot()
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert (feed.findtext(f"{ATOM}{required}") or "").strip()
    assert RFC3339.match(feed.findtext(f"{ATOM}updated", ""))
    assert feed.find(f"{ATOM}author/{ATOM}name") is not None  # then entries need no author of their own
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {"self": BASE_URL + "atom.xml", "alternate": BASE_URL}
    ids = []
    for entry in feed.findall(f"{ATOM}entry"):
        for required in ("id", "title", "updated", "published"):
            assert (entry.findtext(f"{ATOM}{required}") or "").strip()
        for stamp in ("updated", "published"):
            value = entry.findtext(f"{ATOM}{stamp}", "")
            assert RFC3339.match(value) and datetime.fromisoformat(value).tzinfo is not None
        assert entry.find(f"{ATOM}content").get("type") == "html"
        ids.append(entry.findtext(f"{ATOM}id"))
    assert len(ids) == len(set(ids)) > 0
    assert all(i.startswith("tag:example.org,2026:") for i in ids)


def test_sitemap_is_well_formed_with_w3c_dates(built: Path) -> None:
    urlset = ElementTree.parse(built / "sitemap.xml").getroot()
    namespace = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    entries = urlset.findall(f"{namespace}url")
    assert entries and all(e.findtext(f"{namespace}loc", "").startswith(BASE_URL) for e in entries)
    # W3C Datetime: a full timestamp, or only the year or month when that is all that is known
    w3c = re.compile(r"^\d{4}(-\d{2})?$")
    assert all(
        RFC3339.match(m.text or "") or w3c.match(m.text or "") for m in urlset.iter(f"{namespace}lastmod")
    )


def test_nu_html_checker_finds_no_errors_on_the_real_archive(tmp_path: Path) -> None:
    needs(VNU, "vnu.jar")
    needs(shutil.which("java"), "java")
    out = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "build.py", "build", "--out", str(out)], capture_output=True, text=True, cwd=PROJECT
    )
    assert built.returncode == 0, built.stderr
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--skip-non-html", "--errors-only", "--format", "gnu", str(out)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr[:3000]
