"""The faster linkify pretest (markdown.QuickLinkify) gives the stock answers, so the HTML is
byte-identical: on every paragraph, on random text, on the real archive and a benchmark corpus."""

from __future__ import annotations

import re
import string
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from linkify_it import LinkifyIt

from ihv_archive import markdown
from ihv_archive.config import load_config
from ihv_archive.load import load

from .conftest import PROJECT

STOCK = LinkifyIt()
QUICK = markdown.QuickLinkify()

# The characters that matter to the test: the ones in schemes (ftp: too), hosts, TLDs and e-mail
# addresses, digits, and letters that match others when case is ignored (ſ is s, K is k).
ALPHABET = st.sampled_from(
    list("abcdefghilmnoprstuwxkz.:/@ 0123456789-_>|ſKİı\n") + ["www.", "localhost", ".uk", ".com"]
)


def stock_markdown(allow_html: bool = False):  # type: ignore[no-untyped-def]
    md = markdown.make_markdown(allow_html)
    md.linkify = LinkifyIt()
    return md


def bodies_of(root: Path) -> list[str]:
    loaded = load(load_config(root))
    assert loaded.posts and not loaded.problems
    return [post.body for post in loaded.posts]


@given(st.lists(ALPHABET | st.text(max_size=3), max_size=30).map("".join))
@settings(max_examples=2000, deadline=None)
def test_the_quick_pretest_answers_as_the_stock_one(text: str) -> None:
    assert QUICK.pretest(text) == STOCK.pretest(text)


def test_the_quick_pretest_answers_as_the_stock_one_on_known_cases() -> None:
    # With the linkify-it we install, the quick path is taken (otherwise every answer here
    # would be the stock one because it is the stock test, and no faster)
    assert QUICK._dot_rest is not None
    for text in [
        "plain prose. Another sentence.",
        "visit example.com today",
        "e.g. the report",
        "ip 192.168.1.1 here",
        "mail info@ihv.org.uk",
        "see https://ihv.org.uk",
        "LOCALHOST:8000",
        "WWW.IHV.ORG.UK",
        "www.example",
        "localhoſt",  # long s matches s when case is ignored
        "maİlto:x",  # and İ (U+0130) matches i, though str.lower() makes it two characters
        "HTTPS://IHV.ORG.UK",
        "wWw.ihv",
        "ftP:",
        "write to me@",
        "“quoted” www.ihv.org.uk",
        "“quoted” prose. No link.",
        "//cdn",
        "a.b",
        "end.",
        "",
    ]:
        assert QUICK.pretest(text) == STOCK.pretest(text), text


def test_folded_text_holds_every_ascii_letter_a_regex_ignoring_case_would_see() -> None:
    """The quick pretest asks the stock one whenever `folded` text holds a scheme, "localhost"
    or "www.". That is only sound if every character that Python's regexes take for an ASCII
    letter when ignoring case becomes that very letter: checked against every character."""
    every_character = "".join(map(chr, range(sys.maxunicode + 1)))
    seen = 0
    for letter in string.ascii_lowercase:
        for found in re.finditer(letter, every_character, re.IGNORECASE):
            assert markdown.folded(found.group()) == letter, (hex(ord(found.group())), letter)
            seen += 1
    assert seen > 2 * 26  # each letter in both cases, and the odd ones (İ, ı, ſ, K)


def test_every_paragraph_of_the_archive_gets_the_stock_answer() -> None:
    for body in bodies_of(PROJECT):
        for paragraph in body.split("\n\n"):
            assert QUICK.pretest(paragraph) == STOCK.pretest(paragraph), paragraph


def test_html_is_byte_identical_on_the_real_archive_and_a_benchmark_corpus(tmp_path: Path) -> None:
    sys.path.insert(0, str(PROJECT / "bench"))
    from make_corpus import make

    make(400, tmp_path / "corpus")
    quick, stock = markdown.make_markdown(), stock_markdown()
    assert isinstance(quick.linkify, markdown.QuickLinkify)
    bodies = bodies_of(PROJECT) + bodies_of(tmp_path / "corpus")
    linked = 0
    for body in bodies:
        html = quick.render(body)
        assert html == stock.render(body)
        linked += 'href="http' in html
    assert linked > 10  # the corpora really do have bare links to find
