"""A deterministic synthetic news archive for benchmarks, in our own post contract.

    python bench/make_corpus.py 5000 bench/corpus/5000

writes a whole project there (site.toml, content/tags.toml, content/posts/YYYY/*.md and the
project's templates), and the same posts as a Hugo site under hugo/ and a Pelican site under
pelican/ (with the minimal configs from bench/peers/), so that every tool builds the same posts.
Posts are 500–800 words of realistic Markdown: headings, lists, quotes, links, footnotes,
tables, UK typography; each has 1–4 of 40 tags. The same size always gives the same bytes.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
FIRST_YEAR = 2012  # posts are dated from then to LAST_DAY: about 700 a year at 10,000 posts
LAST_DAY = date(2026, 6, 30)
BASE_URL = "https://example.github.io/bench/"  # as the peers' configs in bench/peers/ have it

TOPICS = [
    "Safeguarding",
    "COVID-19",
    "Perinatal mental health",
    "First 1001 Days",
    "Workforce",
    "Policy",
    "Reports",
    "Events",
    "Fathers",
    "Safer sleep",
    "Infant feeding",
    "Domestic abuse",
    "Commissioning",
    "Training",
    "Research",
    "Parenting",
    "Child development",
    "Health inequalities",
    "Family hubs",
    "Early years",
    "Immunisation",
    "Oral health",
    "Speech and language",
    "Obesity",
    "Smoking in pregnancy",
    "Breastfeeding",
    "Postnatal care",
    "Antenatal care",
    "Looked-after children",
    "Special needs",
    "Digital services",
    "Data",
    "Leadership",
    "Wellbeing",
    "Poverty",
    "Housing",
    "Refugee families",
    "Young parents",
    "Bereavement",
    "Neonatal care",
]
WORDS = (  # noqa: SIM905 (a sentence of words reads better than a list of 70 strings)
    "health visitors families babies children parents service support practice local national report "
    "evidence funding workforce safeguarding guidance development early years mental health wellbeing "
    "community professional care outcomes inequalities policy government commissioners training review "
    "partnership prevention early help contact visit assessment home universal specialist infant feeding "
    "safer sleep perinatal postnatal antenatal data survey findings recommendations leadership nurses "
    "midwives teams system children's social care integrated strategy investment change quality standards"
).split()


def sentence(rng: random.Random, low: int = 8, high: int = 22) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(low, high))]
    if rng.random() < 0.15:
        words.insert(rng.randrange(len(words)), f"£{rng.randint(2, 900)} million")
    if rng.random() < 0.15:
        at = rng.randrange(len(words))
        words[at] = f"“{words[at]}”"
    if rng.random() < 0.1:
        words.insert(rng.randrange(len(words)), "–")
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def paragraph(rng: random.Random) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(3, 6)))


def body(rng: random.Random, n: int) -> str:
    blocks = [paragraph(rng), paragraph(rng)]
    blocks.append("## " + sentence(rng, 3, 6).rstrip("."))
    blocks.append("\n".join(f"- {sentence(rng, 5, 12)}" for _ in range(rng.randint(3, 6))))
    blocks.append(paragraph(rng) + "[^1]")
    blocks.append(f"Alison Morton, iHV Executive Director, said:\n\n> “{paragraph(rng)}”")
    blocks.append(f"Read [the full report](https://ihv.org.uk/news/report-{n}/) or see https://ihv.org.uk/.")
    if n % 3 == 0:
        rows = "\n".join(f"| {rng.choice(WORDS)} | {rng.randint(1, 99)}% |" for _ in range(4))
        blocks.append(f"| Area | Change |\n|---|---|\n{rows}")
    blocks.append("\n".join(f"{i}. {sentence(rng, 5, 12)}" for i in range(1, rng.randint(3, 5))))
    while sum(len(b.split()) for b in blocks) < rng.randint(500, 800):
        blocks.append(paragraph(rng))
    blocks.append(f"[^1]: {sentence(rng, 6, 12)}")
    return "\n\n".join(blocks) + "\n"


def tag_slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-").replace("--", "-")


def make(size: int, out: Path, first_year: int = FIRST_YEAR) -> None:
    """The corpus, its posts dated evenly from the first day of first_year to LAST_DAY."""
    rng = random.Random(size)
    if out.exists():
        shutil.rmtree(out)
    (out / "content/posts").mkdir(parents=True)
    shutil.copytree(PROJECT / "templates", out / "templates")
    (out / "site.toml").write_text(
        'title = "Benchmark archive"\ndescription = "Synthetic posts."\n'
        f'base_url = "{BASE_URL}"\nposts_per_page = 10\nfeed_length = 20\n',
        encoding="utf-8",
    )
    slugs = [tag_slug(t) for t in TOPICS]
    (out / "content/tags.toml").write_text(
        "".join(
            f'[{s}]\nname = "{t}"\ndescription = "News about {t.lower()}."\n\n'
            for s, t in zip(slugs, TOPICS, strict=True)
        ),
        encoding="utf-8",
    )
    hugo = out / "hugo"
    shutil.copytree(HERE / "peers/hugo", hugo)
    (hugo / "content/posts").mkdir(parents=True, exist_ok=True)
    pelican = out / "pelican"
    (pelican / "content").mkdir(parents=True)
    shutil.copy(HERE / "peers/pelican/pelicanconf.py", pelican / "pelicanconf.py")
    start = date(first_year, 1, 1)
    span = (LAST_DAY - start).days
    for n in range(size):
        when = start + timedelta(days=span * n // max(size, 1))
        title = sentence(rng, 5, 10).rstrip(".")
        tags = rng.sample(slugs, rng.randint(1, 4))
        text = (
            f"---\ntitle: {json.dumps(title)}\ndate: {when.isoformat()}\ntags: [{', '.join(tags)}]\n"
            f"summary: {json.dumps(sentence(rng))}\n---\n{body(rng, n)}"
        )
        name = f"post-{n:05d}.md"
        (out / "content/posts" / str(when.year)).mkdir(exist_ok=True)
        (out / "content/posts" / str(when.year) / name).write_text(text, encoding="utf-8")
        (hugo / "content/posts" / name).write_text(text, encoding="utf-8")
        # Pelican reads "Key: value" lines, not YAML front matter.
        header = f"Title: {title}\nDate: {when.isoformat()}\nTags: {', '.join(tags)}\nSlug: post-{n:05d}\n"
        (pelican / "content" / name).write_text(header + "\n" + text.split("---\n", 2)[2], encoding="utf-8")


if __name__ == "__main__":
    make(int(sys.argv[1]), Path(sys.argv[2]))
