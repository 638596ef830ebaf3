"""Unit tests for config, urls, markdown, render helpers and the writer."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path, PurePosixPath
from zoneinfo import ZoneInfo

import pytest

from ihv_archive import markdown
from ihv_archive.config import config_from_dict
from ihv_archive.problems import ProblemsFound
from ihv_archive.render import Page, groupby_month, human_date, lazy, make_environment, paginate
from ihv_archive.urls import UnsafePath, Urls
from ihv_archive.write import Staging, files_below, recover, refuse_unsafe_out_dir, write_site

from .test_content import GOOD, TAGS, parse_text

SETTINGS = {"title": "T", "description": "D", "base_url": "https://example.github.io/news-archive"}

# --- config -----------------------------------------------------------------------------


def test_config_defaults_and_base_url_normalised(tmp_path: Path) -> None:
    config = config_from_dict(SETTINGS, tmp_path)
    assert config.base_url == "https://example.github.io/news-archive/"
    assert (config.language, config.timezone, config.posts_per_page, config.allow_html) == (
        "en-GB",
        "Europe/London",
        10,
        False,
    )
    assert config.out_dir == tmp_path / "site"
    assert (
        config_from_dict(SETTINGS, tmp_path, base_url="http://127.0.0.1:8000//").base_url
        == "http://127.0.0.1:8000/"
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"titel": "x"}, "unknown setting 'titel' (did you mean 'title'?)"),
        ({"base_url": "example.org/news"}, "base_url: 'example.org/news' is not an absolute http(s) URL"),
        ({"posts_per_page": 0}, "posts_per_page: must be at least 1"),
        ({"posts_per_page": "ten"}, "posts_per_page: expected int"),
        ({"allow_html": 1}, "allow_html: expected bool"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown zone"),
    ],
)
def test_config_mistakes(tmp_path: Path, change: dict[str, object], expected: str) -> None:
    with pytest.raises(ProblemsFound) as raised:
        config_from_dict({**SETTINGS, **change}, tmp_path)
    assert expected in str(raised.value)


# --- urls -------------------------------------------------------------------------------


def test_site_paths_links_and_files() -> None:
    urls = Urls("https://example.github.io/news-archive/")
    post = parse_text(GOOD, "2024/manifesto.md")
    assert urls.post(post) == "posts/2024/manifesto/"
    assert urls.href(urls.post(post)) == "/news-archive/posts/2024/manifesto/"
    assert (
        urls.absolute(urls.tag("policy", 2)) == "https://example.github.io/news-archive/tags/policy/page/2/"
    )
    assert Urls.output_file(urls.home()) == PurePosixPath("index.html")
    assert Urls.output_file(urls.home(3)) == PurePosixPath("page/3/index.html")
    assert Urls.output_file(urls.RSS) == PurePosixPath("feed.xml")
    assert Urls.output_file(urls.alias("/old/page.html")) == PurePosixPath("old/page.html")


@pytest.mark.parametrize("path", ["../x/", "a/../../x", "/etc/passwd", "a//b", "%2e%2e/x", "a\\..\\b", "./x"])
def test_no_site_path_can_leave_the_output_folder(path: str) -> None:
    with pytest.raises(UnsafePath):
        Urls.output_file(path)


# --- markdown ---------------------------------------------------------------------------


def render(text: str, allow_html: bool = False) -> str:
    md = markdown.make_markdown(allow_html)
    return markdown.render(md, markdown.parse(md, text), lambda href, line: href)


def test_markdown_features() -> None:
    html = render(
        "## A heading\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n~~gone~~ see www.ihv.org.uk\n\nNote.[^1]\n\n[^1]: The note.\n"
    )
    assert '<h2 id="a-heading">A heading</h2>' in html
    assert "<table>" in html and "<td>1</td>" in html
    assert "<s>gone</s>" in html
    assert '<a href="http://www.ihv.org.uk">www.ihv.org.uk</a>' in html
    assert 'class="footnotes"' in html and 'href="#fn1"' in html


def test_raw_html_is_escaped_unless_allowed() -> None:
    assert "&lt;script&gt;" in render("<script>alert(1)</script>\n")
    assert "<aside>x</aside>" in render("<aside>x</aside>\n", allow_html=True)


@pytest.mark.parametrize(
    "href", ["javascript:alert(1)", "JAVASCRIPT:alert(1)", "data:text/html,<b>x</b>", "vbscript:x"]
)
def test_dangerous_links_are_not_emitted(href: str) -> None:
    html = render(f"[click]({href})\n")
    assert "<a" not in html


def test_rewrite_sees_every_link_with_its_line_and_restores_tokens() -> None:
    md = markdown.make_markdown()
    tokens = markdown.parse(md, "Intro.\n\n- [a](a.md)\n- ![i](i.png)\n")
    seen: list[tuple[str, int | None]] = []
    markdown.render(md, tokens, lambda h, n: seen.append((h, n)) or "X")
    assert seen == [("a.md", 2), ("i.png", 3)]
    again = markdown.render(md, tokens, lambda h, n: h)
    assert 'href="a.md"' in again  # the first render's rewrite did not stick


def test_feed_rendering_makes_every_link_absolute() -> None:
    md = markdown.make_markdown()
    here = "https://e.org/news/posts/2024/a/"
    tokens = markdown.parse(md, "[x](/news/tags/) [y](img.png) [z](#top) t.[^1]\n\n[^1]: n\n")
    html = markdown.render(md, tokens, lambda h, n: markdown.absolute(h, here), absolute_base=here)
    for expected in (
        "https://e.org/news/tags/",
        here + "img.png",
        here + "#top",
        here + "#fn1",
        here + "#fnref1",
    ):
        assert f'href="{expected}"' in html
    assert 'href="#' not in html


# --- render helpers ---------------------------------------------------------------------


def test_dates_are_shown_only_as_precisely_as_known() -> None:
    when = datetime(2020, 3, 9, tzinfo=ZoneInfo("Europe/London"))
    assert [human_date(when, p) for p in ("day", "month", "year")] == ["9 March 2020", "March 2020", "2020"]


def test_pagination() -> None:
    posts = tuple(parse_text(GOOD, f"2024/p{i}.md") for i in range(5))
    pages = paginate(posts, 2, lambda n: "" if n == 1 else f"page/{n}/")
    assert [len(p.posts) for p in pages] == [2, 2, 1]
    assert [(p.newer, p.older) for p in pages] == [(None, "page/2/"), ("", "page/3/"), ("page/2/", None)]
    assert len(paginate((), 2, str)) == 1  # an empty list still has its page


def test_archive_groups_by_month_with_year_only_posts_last() -> None:
    march = parse_text(GOOD, "2024/a.md")
    year_only = parse_text(GOOD.replace("summary:", "date_precision: year\nsummary:"), "2024/b.md")
    may = parse_text(GOOD.replace("2024-03-19", "2024-05-01"), "2024/c.md")
    groups = groupby_month([march, year_only, may])
    assert [(h, [p.slug for p in ps]) for h, ps in groups] == [
        ("May 2024", ["c"]),
        ("March 2024", ["a"]),
        ("Month not known", ["b"]),
    ]


def test_each_post_has_its_own_summary_card_made_once() -> None:
    """render.SummaryCards keeps a card by the post's key: the same post's card is made once,
    and other posts (other keys, or none: hand-made posts) get their own."""
    config = config_from_dict(SETTINGS, Path(__file__).parents[1])  # the project's templates
    cards = make_environment(config, TAGS, Urls(config.base_url)).globals["summary_card"]
    post = parse_text(GOOD)
    other = replace(post, title="Another title")
    for first, second in [(post, other), (replace(post, key="a"), replace(other, key="b"))]:
        assert "Manifesto for Babies" in cards(first) and "Another title" not in cards(first)
        assert "Another title" in cards(second)
    assert cards(replace(post, key="a")) is cards(replace(post, key="a"))
    assert "<h3><a href=" in cards(replace(post, key="a"), "h3")


def test_a_lazy_submodule_is_found_where_import_puts_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """render.lazy registers a module before it is loaded; code that does `import a.b` and
    then uses a.b must find it there, loaded when first used (http.server does so with
    email.utils)."""
    (tmp_path / "lazy_package").mkdir()
    (tmp_path / "lazy_package/__init__.py").write_text("")
    (tmp_path / "lazy_package/part.py").write_text("LOADED = True\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("lazy_package", "lazy_package.part"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    lazy("lazy_package.part")
    import lazy_package.part  # noqa: F401 (finds the registered module)

    assert sys.modules["lazy_package"].part.LOADED


# --- write ------------------------------------------------------------------------------


def pages(**files: str) -> list[Page]:
    return [Page(PurePosixPath(name.replace("__", "/")), text.encode()) for name, text in files.items()]


def test_write_replaces_the_whole_folder(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(pages(index__html="one", old__html="stale"), out)
    write_site(pages(index__html="two"), out)
    assert {p.name for p in out.iterdir()} == {"index"}
    assert (out / "index/html").read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]  # no staging folders left behind
    assert oct(out.stat().st_mode & 0o777) == "0o755"


def test_a_write_that_fails_midway_leaves_the_old_site(tmp_path: Path) -> None:
    out = tmp_path / "site"
    write_site(pages(index__html="old"), out)

    def failing() -> object:
        yield Page(PurePosixPath("index.html"), b"new")
        raise OSError("disk full")

    with pytest.raises(OSError):
        write_site(failing(), out)  # type: ignore[arg-type]
    assert (out / "index/html").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["site"]


def test_a_build_killed_between_the_two_renames_is_recovered(tmp_path: Path) -> None:
    out = tmp_path / "site"
    (tmp_path / ".site.old-abc").mkdir()
    (tmp_path / ".site.old-abc/index.html").write_text("previous")
    (tmp_path / ".site.new-def").mkdir()
    recover(out)
    assert (out / "index.html").read_text() == "previous"
    assert sorted(os.listdir(tmp_path)) == ["site"]


def test_files_below_lists_what_os_walk_lists(tmp_path: Path) -> None:
    """Files in nested folders, hidden ones and links to files; a link to a folder is
    neither followed nor listed, and a missing folder has no files."""
    for name in ("index.html", ".nojekyll", "posts/2024/a/index.html", "posts/2024/b/index.html"):
        (tmp_path / "site" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "site" / name).write_text(name)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere/secret.html").write_text("not below")
    (tmp_path / "site/linked-folder").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "site/linked.html").symlink_to(tmp_path / "site/index.html")
    walked = {
        (Path(root) / name).relative_to(tmp_path / "site").as_posix()
        for root, _, names in os.walk(tmp_path / "site")
        for name in names
    }
    assert (
        files_below(tmp_path / "site")
        == walked
        == {
            "index.html",
            ".nojekyll",
            "linked.html",
            "posts/2024/a/index.html",
            "posts/2024/b/index.html",
        }
    )
    assert files_below(tmp_path / "missing") == set()


def test_a_page_the_old_site_holds_byte_for_byte_is_linked_and_nothing_else(tmp_path: Path) -> None:
    """A plain file with the same bytes is shared with the old site. Different bytes, a
    different length, or a link in the old site (to a file with the very bytes) are written."""
    out = tmp_path / "site"
    (tmp_path / "elsewhere.html").write_bytes(b"linked")
    for name, content in [("same", b"same"), ("longer", b"long"), ("other", b"abcd")]:
        (out / name).mkdir(parents=True)
        (out / name / "index.html").write_bytes(content)
    (out / "link").mkdir()
    (out / "link/index.html").symlink_to(tmp_path / "elsewhere.html")
    old = {name: os.stat(out / name / "index.html").st_ino for name in ("same", "longer", "other")}
    with Staging(out) as staging:
        for name, content in [
            ("same", b"same"),
            ("longer", b"longer"),
            ("other", b"wxyz"),
            ("link", b"linked"),
        ]:
            path = PurePosixPath(f"{name}/index.html")
            staging.wrote(path, staging.write(path, content))
        written = staging.complete([])
    assert written.rewritten == 3
    for name, content in [("same", b"same"), ("longer", b"longer"), ("other", b"wxyz"), ("link", b"linked")]:
        page = out / name / "index.html"
        assert page.read_bytes() == content and not page.is_symlink()
        assert (os.stat(page).st_ino == old.get(name)) == (name == "same")
    assert os.stat(out / "link/index.html").st_ino != os.stat(tmp_path / "elsewhere.html").st_ino


def test_the_output_folder_may_not_hold_the_project(tmp_path: Path) -> None:
    with pytest.raises(ProblemsFound, match="cannot be the output folder"):
        refuse_unsafe_out_dir(tmp_path, [tmp_path / "content"])
    refuse_unsafe_out_dir(tmp_path / "site", [tmp_path / "content"])  # the default is fine


# --- the architecture's one rule: the post file is the only contract ----------------------


def _project_imports(file: Path) -> set[str]:
    """The ihv_archive modules a file imports, as dotted names relative to the package."""
    import ast

    package = file.parent.relative_to(PROJECT_ROOT).as_posix().replace("/", ".")
    found = set()
    for node in ast.walk(ast.parse(file.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            found.add(f"{base}.{node.module}" if node.module else base)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ihv_archive"):
            found.add(node.module)
    return found


PROJECT_ROOT = Path(__file__).resolve().parent.parent


def test_the_importer_never_imports_the_builder_nor_the_builder_the_importer() -> None:
    importer = PROJECT_ROOT / "ihv_archive/importer"
    for file in importer.glob("*.py"):
        outside = {m for m in _project_imports(file) if not m.startswith("ihv_archive.importer")}
        assert outside <= {"ihv_archive.post_format"}, (file.name, outside)
    for file in (PROJECT_ROOT / "ihv_archive").glob("*.py"):
        if file.name == "cli.py":
            continue  # the command line dispatches to both, loading the importer only for `import`
        assert not any(m.startswith("ihv_archive.importer") for m in _project_imports(file)), file.name
