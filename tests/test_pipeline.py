"""The pipeline: the recipe end to end; a build killed (SIGKILL) at any moment leaves a whole
site behind; the nothing-changed check trusts no file changed within a clock tick."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ihv_archive import pipeline
from ihv_archive.admin import script_files
from ihv_archive.config import load_config
from ihv_archive.pipeline import Options, inputs_fingerprint

from .conftest import PROJECT, search_index_is_whole, tree_bytes

sys.path.insert(0, str(PROJECT / "bench"))
from make_corpus import make  # noqa: E402

VERSIONS = ("Archive, version A", "Archive, version B")


def set_version(root: Path, title: str) -> None:
    settings = root / "site.toml"
    text = settings.read_text()
    settings.write_text(text.replace(text.split("\n")[0], f'title = "{title}"'))


def build(root: Path, out: Path | None = None) -> subprocess.Popen[bytes]:
    command = [sys.executable, str(PROJECT / "build.py"), "--root", str(root), "build"]
    return subprocess.Popen([*command, "--out", str(out)] if out else command, stdout=subprocess.DEVNULL)


def still_running(root: Path) -> list[str]:
    """Processes working on the project a moment after its build was killed (Linux's /proc):
    left running, they would write into a staging folder that the next build clears away.
    A process with SIGKILL pending is not counted: it dies as soon as the disk write it may
    be in the middle of returns, which on a busy disk can take a while."""
    deadline = time.monotonic() + 0.2  # the kernel kills them at once; left alone, they take longer
    while True:
        found = []
        for process in Path("/proc").glob("[0-9]*"):
            try:
                words = (process / "cmdline").read_bytes().decode(errors="replace").split("\0")
                status = (process / "status").read_text()
            except OSError:  # it has just ended
                continue
            if any(str(root) in word for word in words) and not being_killed(status):
                found.append(" ".join(words))
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def being_killed(status: str) -> bool:
    """From /proc/<pid>/status: a zombie, or SIGKILL (signal 9) pending."""
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    pending = int(fields.get("SigPnd", "0"), 16) | int(fields.get("ShdPnd", "0"), 16)
    return fields.get("State", "").strip().startswith(("Z", "X")) or bool(
        pending & (1 << (signal.SIGKILL - 1))
    )


def test_a_build_killed_at_random_moments_never_leaves_a_half_written_site(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    make(300, root)  # large enough that a build takes about a second
    reference = {}
    for version in VERSIONS:
        set_version(root, version)
        assert build(root, tmp_path / version).wait() == 0
        reference[version] = tree_bytes(tmp_path / version, search_index=False)
    assert reference[VERSIONS[0]] != reference[VERSIONS[1]]
    assert build(root).wait() == 0  # site/ now holds version B
    current = VERSIONS[1]
    chance = random.Random(20261122)
    killed = 0
    for _ in range(8):
        target = VERSIONS[0] if current == VERSIONS[1] else VERSIONS[1]
        set_version(root, target)
        process = build(root)
        time.sleep(chance.uniform(0.05, 1.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait()
        assert not still_running(root)  # render workers and Pagefind died with the build
        after_kill = tree_bytes(root / "site", search_index=False)
        assert after_kill in (reference[current], reference[target])  # one whole version, never a mixture
        assert search_index_is_whole(root / "site")  # with its own search index
        assert build(root).wait() == 0  # the next build succeeds...
        assert (
            tree_bytes(root / "site", search_index=False) == reference[target]
        )  # ...and equals a clean build
        assert search_index_is_whole(root / "site")
        assert [p.name for p in root.iterdir() if p.name.startswith(".site")] == []  # leftovers cleared
        current = target
    assert killed >= 3  # the loop really did interrupt builds


def test_a_file_changed_within_a_clock_tick_is_never_taken_as_unchanged(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Git's "racy" rule: a signature taken just after a change cannot vouch for the bytes,
    so no fingerprint is made then, and the next build looks at every file."""
    config = load_config(archive)
    assert inputs_fingerprint(config, Options()) is None  # the archive was copied just now
    monkeypatch.setattr(pipeline, "RACY_NS", 0)  # as if every file had settled
    first = inputs_fingerprint(config, Options())
    assert first is not None and first == inputs_fingerprint(config, Options())
    assert inputs_fingerprint(config, Options(search=False)) != first
    post = archive / "content/posts/2023/year-only.md"
    post.write_text(post.read_text())  # saved again, the same bytes: another signature
    assert inputs_fingerprint(config, Options()) != first


def test_check_writes_nothing_not_even_the_cache(archive: Path) -> None:
    assert (
        subprocess.run(
            [sys.executable, str(PROJECT / "build.py"), "--root", str(archive), "build"]
        ).returncode
        == 0
    )
    before = {p: p.stat().st_mtime_ns for p in archive.rglob("*")}
    post = archive / "content/posts/2023/year-only.md"
    post.write_text(post.read_text().replace("Text.", "Text, edited."))
    before[post] = post.stat().st_mtime_ns
    result = subprocess.run(
        [sys.executable, str(PROJECT / "build.py"), "--root", str(archive), "check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "No problems: 7 posts would build" in result.stdout
    assert {p: p.stat().st_mtime_ns for p in archive.rglob("*")} == before


def test_keep_going_publishes_what_builds_and_returns_the_problems(archive: Path) -> None:
    broken = archive / "content/posts/2024/summit.md"
    broken.write_text(broken.read_text().replace("summary:", "summary: ''\nold_summary:"))
    config = load_config(archive)
    with pytest.raises(pipeline.ProblemsFound):
        pipeline.build(config, options=Options(search=False))
    assert not (archive / "site").exists()
    result = pipeline.build(config, options=Options(search=False, keep_going=True))
    assert {Path(p.file) for p in result.problems} == {broken}  # the empty summary, the unknown key
    assert (archive / "site/posts/2024/manifesto-for-babies/index.html").is_file()
    assert not (archive / "site/posts/2024/summit").exists()
    assert sorted(Path(p.path).name for p in result.held_back) == ["draft-post.md", "scheduled.md"]


def test_another_version_of_the_cms_in_node_modules_is_a_change(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`npm ci` after package-lock.json moved on: the next build copies the new CMS."""
    config = load_config(archive)
    for file in script_files(config):  # the builder's own, copied into the project
        copy = archive / file.relative_to(PROJECT)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, copy)
    assert all(file.is_relative_to(archive) for file in script_files(config))
    monkeypatch.setattr(pipeline, "RACY_NS", 0)
    first = inputs_fingerprint(config, Options())
    footnotes = archive / "node_modules/markdown-it-footnote/dist/markdown-it-footnote.min.js"
    footnotes.write_text(footnotes.read_text() + "\n// the next version\n")
    assert inputs_fingerprint(config, Options()) != first
