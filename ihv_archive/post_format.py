"""Writing the post file format: the one contract the builder and the importer share.

Both write front matter (`new` scaffolds a post; the importer writes the archive), and
neither may import the other's pipeline, so the piece they both need lives here.
"""

from __future__ import annotations

import json
import re

from slugify import slugify

# Characters YAML will not keep as they are, even quoted: DEL, C1 controls (NEL is a line
# break to YAML), lone surrogates, U+FFFE/U+FFFF. JSON escapes C0 controls, not these.
NOT_YAML_PRINTABLE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")


def yaml_string(text: str) -> str:
    """Text as a YAML double-quoted scalar: JSON's string syntax is a subset of YAML's."""
    quoted = json.dumps(text, ensure_ascii=False)
    return NOT_YAML_PRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


# A post's address comes from its headline (`new` and the importer): about six words, ending
# where a phrase ends (before "of", "for", "to"…, or at a colon, dash or quote), leaving out
# words that carry nothing in an address and words like "today" that go stale.
SLUG_WORDS = 6
_STOPWORDS = (
    "a an and are as at be by for from has have in into is it its of on or our over s that the their"
    " to was we were will with new today todays yesterday yesterdays tomorrow tonight this week"
    " weeks month last next earlier latest recently"
)
SLUG_STOPWORDS = _STOPWORDS.split()
_PREPOSITIONS = (
    "about across after against at between by during for from in into of on over through to under via with"
)
PHRASE_ENDS_BEFORE = set(_PREPOSITIONS.split())
# Words an address must not end on: it would stop mid-phrase.
_DANGLING = (
    "calls can could every how if more must not says should so than what whats when which who would you"
)
DANGLING = set(_DANGLING.split())
TOKEN = re.compile(r"[\w’'&-]+|[^\w\s]")


def slug_from_title(title: str) -> str:
    """ "Ofsted reports a rise in harm to babies during the pandemic" -> "ofsted-reports-rise"."""
    words: list[str] = []
    ends = set()  # after how many words a phrase ends
    for token in TOKEN.findall(re.sub(r"[£\x00-\x1f\x7f-\x9f\u2028\u2029]", " ", title)):
        if not re.search(r"\w", token) or token.lower() in PHRASE_ENDS_BEFORE:
            ends.add(len(words))
        else:
            words += [word for word in slugify(token, stopwords=SLUG_STOPWORDS).split("-") if word]
    ends.add(len(words))
    within = [n for n in ends if 3 <= n <= SLUG_WORDS]
    beyond = [n for n in ends if SLUG_WORDS < n <= SLUG_WORDS + 2]
    chosen = words[: max(within) if within else min(beyond, default=SLUG_WORDS)]
    while len(chosen) > 1 and chosen[-1] in DANGLING:
        chosen.pop()
    return "-".join(chosen)
