"""Incremental rebuilds (the dev server's) always equal a full build."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ihv_archive import serve
from ihv_archive.config import load_config
from ihv_archive.load import ParseCache, load
from ihv_archive.render import Memo, Page, render
from ihv_archive.serve import Rebuilder
from ihv_archive.validate import validate

from .conftest import cold_build, loads_counted, tree_bytes

NOW = datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/London"))
POSTS = "content/posts/2024"


class Incremental:
    """A long-lived memo and parse cache, as the dev server keeps them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.memo = Memo()
        self.cache = ParseCache()

    def render(self) -> dict[str, bytes]:
        config = load_config(self.root)
        pages, problems = render(validate(load(config, self.cache), config, NOW), self.memo)
        assert problems == []
        return as_dict(pages)


def full_build(root: Path) -> dict[str, bytes]:
    config = load_config(root)
    pages, problems = render(validate(load(config), config, NOW))
    assert problems == []
    return as_dict(pages)


def as_dict(pages: list[Page]) -> dict[str, bytes]:
    result = {p.path.as_posix(): p.content for p in pages}
    assert len(result) == len(pages)
    return result


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (path, old)
    path.write_text(text.replace(old, new))


def rename_linked(root: Path) -> None:
    (root / POSTS / "summit.md").rename(root / POSTS / "the-summit.md")
    edit(root / POSTS / "added.md", "(summit.md)", "(the-summit.md)")
    edit(root / POSTS / "manifesto-for-babies.md", "(summit.md)", "(the-summit.md)")


EDITS = [
    ("edit a title", lambda r: edit(r / POSTS / "summit.md", "New joining link", "A new joining link")),
    (
        "edit a body",
        lambda r: edit(r / POSTS / "working-together.md", "A year later.", "A year later, again."),
    ),
    (
        "re-date a post into another year",
        lambda r: edit(r / POSTS / "windows-post.md", "2024-02-01", "2022-05-05"),
    ),
    (
        "change tags",
        lambda r: edit(r / POSTS / "summit.md", "tags: [events, safeguarding]", "tags: [events]"),
    ),
    (
        "add a post",
        lambda r: (r / POSTS / "added.md").write_text(
            "---\ntitle: Added\ndate: 2024-07-01\ntags: [policy]\nsummary: New.\n---\nLinks to [summit](summit.md).\n"
        ),
    ),
    ("delete a post", lambda r: (r / POSTS / "working-together.md").unlink()),
    ("rename a linked post, and fix the links to it", lambda r: rename_linked(r)),
    ("publish a draft", lambda r: edit(r / POSTS / "draft-post.md", "draft: true", "draft: false")),
    (
        "edit a template",
        lambda r: edit(r / "templates/post.html", '<article class="post"', '<article class="post x"'),
    ),
    ("edit the settings", lambda r: edit(r / "site.toml", "posts_per_page = 2", "posts_per_page = 3")),
    ("edit the tag vocabulary", lambda r: edit(r / "content/tags.toml", "Keeping children safe.", "Safety.")),
]


def test_every_incremental_rebuild_equals_a_full_build(archive: Path) -> None:
    incremental = Incremental(archive)
    assert incremental.render() == full_build(archive)
    for what, change in EDITS:
        change(archive)
        assert incremental.render() == full_build(archive), what


def test_an_edit_re_renders_only_the_pages_that_show_the_post(archive: Path) -> None:
    incremental = Incremental(archive)
    first = incremental.render()
    edit(archive / "content/posts/2023/year-only.md", "Text.", "Text, edited.")
    second = incremental.render()
    changed = {path for path in second if second[path] != first.get(path)}
    assert changed == {"posts/2023/year-only/index.html"}  # only its body changed: only its page
    assert incremental.memo.rendered < len(second) / 4
    assert incremental.memo.reused > 0


def test_a_template_change_re_renders_everything(archive: Path) -> None:
    incremental = Incremental(archive)
    incremental.render()
    edit(archive / "templates/base.html", "<footer", "<footer data-edited")
    pages = incremental.render()
    assert incremental.memo.reused == 0
    assert all(
        b"data-edited" in content
        for path, content in pages.items()
        if path.endswith("index.html") and "news/" not in path
    )


@pytest.mark.parametrize("what", ["a post", "nothing"])
def test_a_rebuild_without_changes_reuses_everything(archive: Path, what: str) -> None:
    incremental = Incremental(archive)
    before = incremental.render()
    if what == "a post":  # saved again without a change
        path = archive / "content/posts/2023/year-only.md"
        path.write_text(path.read_text())
    assert incremental.render() == before
    assert incremental.memo.rendered == 0


QUICK = ("edit a title", "edit a body", "edit a body after all that")  # what posts show
AFTER_ALL_THAT = (  # quick again, from a memo whole rebuilds have been through since its pages were made
    "edit a body after all that",
    lambda r: edit(r / "content/posts/2023/year-only.md", "Text.", "Text, edited at last."),
)


def preview_rebuilder(root: Path, preview: Path, drafts: bool = False) -> Rebuilder:
    return Rebuilder(root, preview, 8000, drafts=drafts, future=False, say=lambda _: None)


def test_the_preview_equals_a_cold_build_after_each_edit_quick_or_not(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The dev server rebuilds as `build` does: an edit to what a post shows by the quick
    rebuild, from what it keeps in memory; anything else through the render memo. After
    each, whichever it took, the preview is the site a cold build makes."""
    preview = tmp_path / "preview"
    rebuilder = preview_rebuilder(archive, preview)
    assert rebuilder.rebuild()
    loads = loads_counted(monkeypatch, serve)
    for what, change in [*EDITS[:7], AFTER_ALL_THAT]:
        change(archive)
        loads.clear()
        assert rebuilder.rebuild(), what
        assert loads == ([] if what in QUICK else [1]), what
        expected = cold_build(archive, tmp_path, "--base-url", "http://127.0.0.1:8000/news-archive/")
        assert tree_bytes(preview) == expected, what  # neither has a search index: serve() makes its own


def test_with_drafts_shown_an_edit_to_a_drafts_text_is_quick_too(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    preview = tmp_path / "preview"
    rebuilder = preview_rebuilder(archive, preview, drafts=True)
    assert rebuilder.rebuild()
    loads = loads_counted(monkeypatch, serve)
    edit(archive / POSTS / "draft-post.md", "Secret draft", "Hidden draft")
    assert rebuilder.rebuild()
    assert loads == []
    assert b"Hidden draft" in (preview / "posts/2024/draft-post/index.html").read_bytes()
    monkeypatch.undo()
    fresh = tmp_path / "fresh"
    shutil.copytree(archive, fresh, ignore=shutil.ignore_patterns(".cache", "site"))
    assert preview_rebuilder(fresh, tmp_path / "reference", drafts=True).rebuild()
    assert tree_bytes(preview) == tree_bytes(tmp_path / "reference")
