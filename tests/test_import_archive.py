"""The importer on the real sources: the five scraped iHV listings in sources/ihv/."""

from __future__ import annotations

import re
import shutil
import tomllib
from collections import defaultdict
from datetime import date
from pathlib import Path

import frontmatter
import pytest

from ihv_archive.cli import main
from ihv_archive.importer.manifest import load_manifest
from ihv_archive.importer.rules import load_rules
from ihv_archive.importer.run import read_articles

from .conftest import PROJECT, claimed_days

# Where each article starts, read by a person from the sources (line numbers, 1-based).
HAND_SEGMENTATION = {
    "000": [1, 34, 83, 137, 153, 175, 212, 243, 258, 278],
    "001": [1, 46, 86, 130, 182, 196, 216, 240],
    "002": [1, 45, 67, 89, 133, 168, 199, 225, 262, 288],
    "003": [1, 55, 79, 104, 118, 140, 152, 165],
    "004": [3],
}
DEBRIS = {"000": [], "001": [180], "002": [166], "003": [102], "004": [1, 67, 70, 72, 74, 76, 78, 80, 82, 84]}
# The same article in two listings: (listing, first line) pairs.
DUPLICATES = [{("000", 83), ("003", 1)}, {("001", 86), ("002", 89)}]


def words(text: str) -> str:
    """Text reduced to its words, so that Markdown syntax and escapes do not matter."""
    return " ".join(re.findall(r"[^\W\d_]+|\d+", text.replace("\u00a0", " ")))  # "England1" = "England[^1]"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project, with the five sources imported into a fresh content folder."""
    root = tmp_path_factory.mktemp("project")
    for name in ("sources", "templates", "site.toml"):
        (shutil.copytree if name != "site.toml" else shutil.copy)(PROJECT / name, root / name)
    (root / "content/posts").mkdir(parents=True)
    shutil.copy(PROJECT / "content/tags.toml", root / "content/tags.toml")
    assert main(["--root", str(root), "import"]) == 0
    return root


def posts_of(root: Path) -> dict[Path, frontmatter.Post]:
    return {p: frontmatter.load(p) for p in sorted((root / "content/posts").rglob("*.md"))}


def test_every_article_boundary_matches_the_hand_segmentation() -> None:
    sources = load_manifest(PROJECT / "sources/manifest.toml", PROJECT)
    articles, debris = read_articles(sources, load_rules())
    starts: dict[str, list[int]] = defaultdict(list)
    for article in articles:
        starts[Path(article.source.file).name[:3]].append(article.first)
    assert dict(starts) == HAND_SEGMENTATION
    assert {Path(file).name[:3]: lines for file, lines in debris.items()} == DEBRIS


def test_duplicates_are_merged_into_one_post_with_both_sources(imported: Path) -> None:
    posts = posts_of(imported)
    assert len(posts) == sum(map(len, HAND_SEGMENTATION.values())) - len(DUPLICATES)
    provenance = [
        {(Path(s["file"]).name[:3], int(s["lines"].split("-")[0])) for s in post["sources"]}
        for post in posts.values()
    ]
    for pair in DUPLICATES:
        assert pair in provenance
    merged = next(p for p in posts.values() if len(p["sources"]) == 2 and "Working Together" in p.content)
    assert set(merged["tags"]) >= {"safeguarding", "policy"}  # both listings' tags


@pytest.mark.parametrize("which", ["freshly imported", "committed, with editors' corrections"])
def test_no_source_line_is_lost_and_no_debris_is_kept(imported: Path, which: str) -> None:
    posts = posts_of(imported if which == "freshly imported" else PROJECT)
    text_of = {p: words(post["title"] + "\n" + post.content) for p, post in posts.items()}
    owners: dict[tuple[str, int], list[Path]] = defaultdict(list)
    for path, post in posts.items():
        for source in post["sources"]:
            first, last = map(int, source["lines"].split("-"))
            for number in range(first, last + 1):
                owners[(source["file"], number)].append(path)
    for source in load_manifest(PROJECT / "sources/manifest.toml", PROJECT):
        debris = set(DEBRIS[Path(source.file).name[:3]])
        for number, line in enumerate(source.lines, 1):
            if not words(line):
                continue
            if number in debris:
                assert not owners[(source.file, number)], f"{source.file}:{number} is debris"
                assert all(words(line) not in t for t in text_of.values()), f"debris kept: {line!r}"
                continue
            assert len(owners[(source.file, number)]) == 1, (
                f"{source.file}:{number} is in {owners[(source.file, number)]}"
            )
            (owner,) = owners[(source.file, number)]
            if line.strip() == "References" and "[^1]:" in posts[owner].content:
                continue  # the notes became footnotes, under the site's own "Notes" heading
            assert words(line) in text_of[owner], f"{source.file}:{number} lost: {line[:80]!r}"


def test_imported_archive_builds_with_no_errors(imported: Path) -> None:
    assert main(["--root", str(imported), "build", "--out", str(imported / "site")]) == 0
    assert len(list((imported / "site/posts").rglob("index.html"))) == len(posts_of(imported))


SEED_DATES = tomllib.loads((PROJECT / "tests/fixtures/importer/seed_dates.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("which", ["freshly imported", "committed, with editors' corrections"])
def test_dates_agree_with_a_hand_reading_and_claim_no_more_than_is_known(imported: Path, which: str) -> None:
    """Each article occurrence in the seeds against tests/fixtures/importer/seed_dates.toml: its
    claimed days must include the day it was published (as far as a careful reader can tell),
    and a post may claim a day only where the reading knows that day."""
    root = imported if which == "freshly imported" else PROJECT
    right, wrong = 0, []
    for post in posts_of(root).values():
        for source in post["sources"]:
            key = f"{Path(source['file']).name[:3]}:{source['lines'].split('-')[0]}"
            earliest, latest, why = SEED_DATES[key]
            first, last = claimed_days(post["date"], post["date_precision"])
            assert post["date_precision"] != "day" or earliest == latest == first, (key, why)
            if first <= latest and earliest <= last:
                right += 1
            else:
                wrong.append((key, post["date"], post["date_precision"], why))
    assert right + len(wrong) == len(SEED_DATES) == 37
    assert right >= (34 if which.startswith("committed") else 33), wrong


@pytest.mark.parametrize("which", ["freshly imported", "committed, with editors' corrections"])
def test_dates_never_contradict_listing_order(imported: Path, which: str) -> None:
    root = imported if which == "freshly imported" else PROJECT
    position: dict[str, list[tuple[int, date]]] = defaultdict(list)
    for post in posts_of(root).values():
        for source in post["sources"]:
            position[source["file"]].append((int(source["lines"].split("-")[0]), post["date"]))
    for file, entries in position.items():
        dates = [when for _, when in sorted(entries)]
        assert dates == sorted(dates, reverse=True), file


def test_every_post_is_complete_and_honest(imported: Path) -> None:
    for path, post in posts_of(imported).items():
        assert len(post["title"]) > 0 and not post["title"].endswith((" the", " of", " and", " to"))
        assert 0 < len(post["summary"]) <= 300
        assert post["date_precision"] in ("day", "month", "year")
        assert post["date_basis"].startswith(("Known to the day:", "From the evidence"))
        assert (post["date_precision"] == "day") == post["date_basis"].startswith("Known to the day:")
        assert post["tags"][0] in {
            "safeguarding",
            "first-1001-days",
            "perinatal-infant-mental-health",
            "policy",
        }
        assert path.parent.name == str(post["date"].year)
        assert "Skip to content" not in post.content and "cookie" not in post.content.lower()


def test_the_committed_archive_is_protected_from_reimport(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "project"
    for name in ("sources", "content"):
        shutil.copytree(PROJECT / name, root / name)
    before = {p.relative_to(root): p.read_bytes() for p in (root / "content").rglob("*.md")}
    assert main(["--root", str(root), "import"]) == 0
    assert "new" not in capsys.readouterr().out.split("posts:")[1].split("\n")[0]
    assert {p.relative_to(root): p.read_bytes() for p in (root / "content").rglob("*.md")} == before


def test_a_second_run_changes_nothing(imported: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_bytes() for p in posts_of(imported)}
    assert main(["--root", str(imported), "import"]) == 0
    assert f"{len(before)} posts: {len(before)} unchanged" in capsys.readouterr().out
    assert {p: p.read_bytes() for p in posts_of(imported)} == before
