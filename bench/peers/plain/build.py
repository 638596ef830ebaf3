"""A plain Python pipeline, as a peer: python-frontmatter + markdown-it-py + Jinja2, in as
many processes as there are cores. The floor a Python build of these posts stands on.

    python bench/peers/plain/build.py CONTENT_POSTS OUT

It builds what the Hugo peer builds (bench/peers/hugo/), from our posts as they are: a page
a post at posts/YYYY/<file name>/ with its tags, a paginated home page and tag pages (10
posts a page), and an RSS feed of the newest 20 for the site and for each tag, with each
post's HTML. markdown-it-py renders CommonMark with tables, the parser our build uses,
without its plugins (footnotes, heading anchors, bare links) and link checks; nothing is
cached, nothing is checked, every file is written. Used only by bench/build_bench.py.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from multiprocessing import Pool
from pathlib import Path
from typing import NamedTuple
from xml.sax.saxutils import escape

import frontmatter
import jinja2
from markdown_it import MarkdownIt
from markupsafe import Markup

PER_PAGE = 10
FEED_LENGTH = 20
BASE = "/bench/"

ENV = jinja2.Environment(autoescape=True)
# The page around each kind of page's MAIN
PAGE = """<!DOCTYPE html>
<html lang="en-GB">
<head><meta charset="utf-8"><title>{{ title }} · Benchmark archive</title></head>
<body><header><a href="{{ base }}">Benchmark archive</a></header>
<main>MAIN</main>
</body>
</html>
"""
POST = ENV.from_string(
    PAGE.replace(
        "MAIN",
        """<article><h1>{{ title }}</h1>
<p><time datetime="{{ date.isoformat() }}">{{ date.day }} {{ date.strftime("%B %Y") }}</time></p>
<ul>{% for tag in tags %}<li><a href="{{ base }}tags/{{ tag }}/">{{ tag }}</a></li>{% endfor %}</ul>
{{ body }}
</article>""",
    )
)
LIST = ENV.from_string(
    PAGE.replace(
        "MAIN",
        """<h1>{{ title }}</h1>
{% for post in posts %}<article><h2><a href="{{ base }}{{ post.path }}">{{ post.title }}</a></h2>
<p>{{ post.date.day }} {{ post.date.strftime("%B %Y") }}</p><p>{{ post.summary }}</p></article>
{% endfor %}
{% if newer %}<a href="{{ base }}{{ newer }}">Newer</a>{% endif %}
{% if older %}<a href="{{ base }}{{ older }}">Older</a>{% endif %}""",
    )
)
MARKDOWN = MarkdownIt("commonmark").enable("table")


class Shown(NamedTuple):
    """What the lists and feeds show of a post."""

    title: str
    date: date
    tags: list[str]
    summary: str
    path: str  # its site path
    body: str  # its HTML


def write(out: Path, site_path: str, text: str) -> None:
    target = out / site_path / "index.html" if not site_path.endswith(".xml") else out / site_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def post_page(job: tuple[str, str]) -> Shown:
    """Read, render and write one post."""
    file, out = job
    post = frontmatter.load(file)
    when = post["date"]
    shown = Shown(
        title=str(post["title"]),
        date=when,
        tags=list(post.get("tags", [])),
        summary=str(post.get("summary", "")),
        path=f"posts/{when.year}/{Path(file).stem}/",
        body=MARKDOWN.render(post.content),
    )
    page = POST.render(base=BASE, **{**shown._asdict(), "body": Markup(shown.body)})
    write(Path(out), shown.path, page)
    return shown


def list_pages(out: Path, title: str, first: str, posts: list[Shown]) -> None:
    pages = [posts[n : n + PER_PAGE] for n in range(0, len(posts), PER_PAGE)] or [[]]
    paths = [first if n == 0 else f"{first}page/{n + 1}/" for n in range(len(pages))]
    for n, shown in enumerate(pages):
        newer = paths[n - 1] if n > 0 else None
        older = paths[n + 1] if n + 1 < len(pages) else None
        write(out, paths[n], LIST.render(base=BASE, title=title, posts=shown, newer=newer, older=older))


def feed(out: Path, site_path: str, title: str, posts: list[Shown]) -> None:
    items = "".join(
        f"<item><title>{escape(post.title)}</title>"
        f"<link>https://example.github.io{BASE}{post.path}</link>"
        f"<description>{escape(post.body)}</description></item>\n"
        for post in posts[:FEED_LENGTH]
    )
    channel = f"<title>{escape(title)}</title>\n{items}"
    write(
        out,
        site_path,
        f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>{channel}</channel></rss>\n',
    )


def main() -> None:
    posts_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
    files = sorted(str(path) for path in posts_dir.rglob("*.md"))
    with Pool(os.cpu_count() or 1) as pool:
        posts = pool.map(post_page, [(file, str(out)) for file in files], chunksize=64)
    posts.sort(key=lambda post: (post.date, post.path), reverse=True)
    by_tag: dict[str, list[Shown]] = {}
    for post in posts:
        for tag in post.tags:
            by_tag.setdefault(tag, []).append(post)
    list_pages(out, "Benchmark archive", "", posts)
    feed(out, "feed.xml", "Benchmark archive", posts)
    for tag, tagged in sorted(by_tag.items()):
        list_pages(out, tag, f"tags/{tag}/", tagged)
        feed(out, f"tags/{tag}/feed.xml", tag, tagged)


if __name__ == "__main__":
    main()
