"""Render: a site -> pages, bodies and problems; it writes nothing, and with the memo of the
last render it makes again only the pages whose inputs changed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ihv_archive.bodies import Body
from ihv_archive.config import load_config
from ihv_archive.load import load
from ihv_archive.problems import Problem
from ihv_archive.render import Memo, Page, render
from ihv_archive.validate import validate

NOW = datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/London"))


def rendered(root: Path, memo: Memo | None = None) -> tuple[dict[str, Page], dict[str, Body], list[Problem]]:
    config = load_config(root)
    made = list(render(validate(load(config), config, NOW), memo))
    pages = {item.path.as_posix(): item for item in made if isinstance(item, Page)}
    assert len(pages) == sum(isinstance(item, Page) for item in made)  # each file once
    bodies = {item.key: item for item in made if isinstance(item, Body)}
    return pages, bodies, [item for item in made if isinstance(item, Problem)]


def memo_of(pages: dict[str, Page], bodies: dict[str, Body]) -> Memo:
    texts = {h.key: h.text for b in bodies.values() for h in (b.page_html, b.feed_html) if h and h.text}
    return Memo(
        bodies,
        {path: (p.inputs, p.digest) for path, p in pages.items()},
        lambda keys: {k: texts[k] for k in keys},
    )


def test_render_writes_nothing(archive: Path) -> None:
    before = sorted(archive.rglob("*"))
    pages, _, problems = rendered(archive)
    assert problems == [] and "index.html" in pages and all(p.content is not None for p in pages.values())
    assert sorted(archive.rglob("*")) == before


def test_with_the_memo_only_the_pages_an_edit_changes_are_made_again(archive: Path) -> None:
    pages, bodies, _ = rendered(archive)
    again, _, _ = rendered(archive, memo_of(pages, bodies))
    assert all(page.content is None for page in again.values())  # nothing changed: nothing made
    post = archive / "content/posts/2023/year-only.md"
    post.write_text(post.read_text().replace("Text.", "Text, edited."))
    edited, _, _ = rendered(archive, memo_of(pages, bodies))
    made = {path for path, page in edited.items() if page.content is not None}
    assert "posts/2023/year-only/index.html" in made and len(made) < len(edited) / 4
    fresh, _, _ = rendered(archive)
    for path, page in edited.items():  # and each page made again is what a render from nothing makes
        assert page.digest == fresh[path].digest, path


def test_a_template_change_makes_every_page_again(archive: Path) -> None:
    pages, bodies, _ = rendered(archive)
    base = archive / "templates/base.html"
    base.write_text(base.read_text().replace("<footer", "<footer data-edited"))
    again, _, _ = rendered(archive, memo_of(pages, bodies))
    html = [page for path, page in again.items() if path.endswith(".html") and not path.startswith("news/")]
    assert all(
        page.content is not None and b"data-edited" in page.content
        for page in html
        if b"<footer" in (page.content or b"")
    )
    assert all(page.content is not None for page in html)


def test_a_template_mistake_is_a_problem_at_its_line(archive: Path) -> None:
    post = archive / "templates/post.html"
    lines = post.read_text().splitlines()
    lines[24] = "{{ post.no_such_field.deeper }}"
    post.write_text("\n".join(lines) + "\n")
    _, _, problems = rendered(archive)
    assert {(p.file.rsplit("/", 1)[-1], p.line) for p in problems} == {("post.html", 25)}
    assert all("template error" in p.message for p in problems)


def test_a_post_with_an_empty_body_is_rendered_in_its_feeds(archive: Path) -> None:
    (archive / "content/posts/2024/empty.md").write_text(
        "---\ntitle: Empty\ndate: 2024-12-01\ntags: [policy]\nsummary: Nothing more.\n---\n"
    )
    pages, bodies, problems = rendered(archive)
    assert problems == []
    assert b"<title>Empty</title>" in (pages["feed.xml"].content or b"")
    again, _, _ = rendered(archive, memo_of(pages, bodies))  # with the empty HTML from the memo
    assert all(page.content is None for page in again.values())
