"""Articles -> posts: duplicates merged, tagged, dated, titled, as Markdown files' text."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..post_format import slug_from_title, yaml_string
from .dates import Dated, date_posts
from .rules import Rules
from .segment import Article, plain
from .titles import body_lines, has_title_line, summary_of, title_of
from .to_markdown import to_markdown

DUPLICATE_OVERLAP = 0.8  # share of the shorter article's lines found in the other
HASH_KEY = "imported_hash"


@dataclass(frozen=True)
class Post:
    articles: tuple[Article, ...]  # the same article in one or more listings, manifest order
    title: str
    dated: Dated
    tags: tuple[str, ...]
    summary: str
    body: str
    slug: str
    needs_headline: bool = False  # the title was made from the lede: an editor should write one

    @property
    def path(self) -> str:
        return f"posts/{self.dated.date.year}/{self.slug}.md"


def _lines(article: Article) -> set[str]:
    return {line.plain for line in article.lines}


def merge_duplicates(articles: list[Article]) -> list[list[Article]]:
    """Group an article with its copies in other listings (first listing's copy first)."""
    groups: list[list[Article]] = []
    for article in articles:
        for group in groups:
            first = group[0]
            if first.source.file == article.source.file:
                continue
            shared = len(_lines(first) & _lines(article))
            if shared >= DUPLICATE_OVERLAP * min(len(_lines(first)), len(_lines(article))):
                group.append(article)
                break
        else:
            groups.append([article])
    return groups


SEVERAL = 3  # mentions that make a topic of an article that does not open with it


def tags_for(group: list[Article], rules: Rules) -> tuple[str, ...]:
    """The listings' tags, then topic tags whose keyword is in the title or lede, or that the
    text mentions several times (not once, in a promotion at the end)."""
    text = group[0].text
    lede = body_lines(group[0], rules)[:1]  # with the title line, if the article has one
    opening = "\n".join(line.plain for line in (*group[0].lines[:1], *lede))
    tags = list(dict.fromkeys(a.source.tag for a in group))
    for rule in rules.tags:
        hits = sum(len(k.findall(text)) for k in rule.keywords)
        in_opening = any(k.search(opening) for k in rule.keywords)
        if (in_opening or hits >= max(rule.min, SEVERAL)) and rule.tag not in tags:
            tags.append(rule.tag)
    return tuple(tags)


def period(dated: Dated) -> str:
    """A post's date as a phrase: "29 July 2022", "July 2022" or "2022"."""
    return {"day": f"{dated.date.day} {dated.date:%B %Y}", "month": f"{dated.date:%B %Y}"}.get(
        dated.precision, str(dated.date.year)
    )


def make_posts(articles: list[Article], rules: Rules) -> list[Post]:
    groups = merge_duplicates(articles)
    group_of = {id(a): n for n, group in enumerate(groups) for a in group}
    listings: dict[str, list[int]] = {}
    for article in articles:
        listings.setdefault(article.source.file, []).append(group_of[id(article)])
    texts = {n: g[0].text for n, g in enumerate(groups)}
    titles = {n: title_of(g[0], rules) for n, g in enumerate(groups)}
    dated = date_posts(texts, list(listings.values()), rules.events)

    posts: list[Post] = []
    taken: set[tuple[int, str]] = set()
    for n, group in enumerate(groups):
        slug = base = slug_from_title(titles[n]) or "post"
        year = dated[n].date.year
        counter = 2
        while (year, slug) in taken:
            slug = f"{base}-{counter}"
            counter += 1
        taken.add((year, slug))
        posts.append(
            Post(
                articles=tuple(group),
                title=titles[n],
                dated=dated[n],
                tags=tags_for(group, rules),
                summary=summary_of(group[0], rules, period(dated[n])),
                body=to_markdown(list(body_lines(group[0], rules)), rules),
                slug=slug,
                needs_headline=not has_title_line(group[0], rules),
            )
        )
    return posts


def _quoted(text: str) -> str:
    return yaml_string(plain(text))


def front_matter(post: Post) -> str:
    sources = "\n".join(
        f'  - {{file: {_quoted(a.source.file)}, lines: "{a.first}-{a.last}", listing: {a.source.tag}}}'
        for a in post.articles
    )
    return (
        "---\n"
        f"title: {_quoted(post.title)}\n"
        f"date: {post.dated.date.isoformat()}\n"
        f"date_precision: {post.dated.precision}\n"
        f"tags: [{', '.join(post.tags)}]\n"
        f"summary: {_quoted(post.summary)}\n"
        f"sources:\n{sources}\n"
        f"date_basis: {_quoted(post.dated.basis)}\n"
    )


def content_hash(text: str) -> str:
    """The hash of a post file's text, leaving out its own imported_hash line."""
    without = re.sub(rf"^{HASH_KEY}: .*\n", "", text, count=1, flags=re.MULTILINE)
    return "sha256:" + hashlib.sha256(without.encode("utf-8")).hexdigest()


def file_text(post: Post) -> str:
    text = front_matter(post) + "---\n" + post.body
    head, body = text.split("\n---\n", 1)
    return f'{head}\n{HASH_KEY}: "{content_hash(text)}"\n---\n{body}'


def recorded_hash(text: str) -> str | None:
    match = re.search(rf"^{HASH_KEY}: \"?(sha256:[0-9a-f]{{64}})\"?$", text, flags=re.MULTILINE)
    return match.group(1) if match else None


def is_unedited(text: str) -> bool:
    """True when a file is exactly what the importer wrote (its recorded hash still holds)."""
    recorded = recorded_hash(text)
    return recorded is not None and recorded == content_hash(text)
