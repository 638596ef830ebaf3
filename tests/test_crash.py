"""Crash safety: a build killed (SIGKILL) at any moment leaves a whole site behind."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

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


def children_of(pid: int) -> list[str]:
    """The command lines of a process's children (Linux's /proc)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        for child in task.read_text().split():
            try:
                found.append(Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace"))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("child", ["render worker", "Pagefind"])
def test_a_killed_build_leaves_no_process_behind(tmp_path: Path, child: str) -> None:
    """Killed while a child works, the build takes it along. Left running, a child would go
    on writing into the staging folder the next build clears away (Pagefind for a second or
    more), or print a traceback when it finds its parent gone (a render worker)."""
    root = tmp_path / "archive"
    make(300, root)
    command = [sys.executable, str(PROJECT / "build.py"), "--root", str(root), "build"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seen = False
    while process.poll() is None and not seen:
        running = children_of(process.pid)
        seen = any(("pagefind" in c) == (child == "Pagefind") for c in running)
        time.sleep(0.005)
    if not seen:
        process.communicate()
        pytest.skip(f"the build finished without a {child} (one core: no render workers)")
    process.send_signal(signal.SIGKILL)
    _, said = process.communicate(timeout=60)  # until every child holding its stderr is gone
    assert not still_running(root)
    assert b"Traceback" not in said, said.decode()
    assert build(root).wait() == 0
    assert [p.name for p in root.iterdir() if p.name.startswith(".site")] == []


# In a fresh process (pytest's own may have threads, and then nothing is forked): a parent
# that handles SIGTERM and SIGHUP as the dev server does, and what its render workers do on
# each signal.
WORKERS_SIGNALS = """
import signal
from ihv_archive.children import in_parallel

def like_ctrl_c(signum, frame):
    raise KeyboardInterrupt

for name in ("SIGTERM", "SIGHUP"):
    signal.signal(getattr(signal, name), like_ctrl_c)

def dispositions(_):
    kinds = {signal.SIG_IGN: "ignored", signal.SIG_DFL: "default"}
    return tuple(kinds.get(signal.getsignal(getattr(signal, n)), "handled") for n in ("SIGINT", "SIGTERM", "SIGHUP"))

print(set(in_parallel(dispositions, list(range(100)), 2, "", None)))
"""


def test_render_workers_leave_stopping_to_their_parent() -> None:
    """Ctrl-C reaches every process of the terminal's foreground group, and the pool ends its
    workers with SIGTERM, which the dev server takes for Ctrl-C. A worker ignores the one
    (its parent stops, and ends the pool) and dies of the other, printing nothing; with the
    server's handler, each printed an interruption's traceback into the editor's terminal."""
    said = subprocess.run(
        [sys.executable, "-c", WORKERS_SIGNALS], capture_output=True, text=True, check=True
    ).stdout
    assert said.strip() == "{('ignored', 'default', 'default')}"


# How the scripts below end: whether the process has a child left, running or unreaped
NO_CHILD_LEFT = """
try:
    os.waitpid(-1, os.WNOHANG)
    print("a child is left")
except ChildProcessError:
    print("no child left")
"""

# In a fresh process (see above): in_halves, whose child makes the later half, when its
# child fails, and when its own half does
HALVES = """
import os
from ihv_archive.children import in_halves

parent = os.getpid()

print(in_halves(lambda n: "here" if os.getpid() == parent else "child", list(range(6))))

def in_the_parent_only(n):
    if os.getpid() != parent:
        raise RuntimeError("the child fails")
    return n * n

print(in_halves(in_the_parent_only, list(range(6))))

def fails_here(n):
    if os.getpid() == parent and n == 1:
        raise ValueError(n)
    return n

try:
    in_halves(fails_here, list(range(6)))
except ValueError:
    print("raised")
"""


def test_in_halves_has_a_child_make_the_later_half_or_makes_it_itself() -> None:
    said = subprocess.run(
        [sys.executable, "-c", HALVES + NO_CHILD_LEFT], capture_output=True, text=True, check=True
    )
    assert said.stdout == (
        "['here', 'here', 'here', 'child', 'child', 'child']\n[0, 1, 4, 9, 16, 25]\nraised\nno child left\n"
    )
    assert said.stderr == ""  # the child's failure is not the editor's to read


# In a fresh process (see above): meanwhile, whose check is made by a child, or here
MEANWHILE = """
import os, time
from ihv_archive.children import meanwhile

parent = os.getpid()

def by_whom():
    return os.getpid() != parent  # True in the child

def fails_in_the_child():
    if os.getpid() != parent:
        raise RuntimeError("the child fails")
    return True

with meanwhile(by_whom) as answer:
    print("made by a child:", answer(), answer())
with meanwhile(fails_in_the_child) as answer:
    print("made here instead:", answer())
with meanwhile(lambda: time.sleep(60) or True) as answer:
    pass  # not asked: the child is stopped
"""


def test_meanwhile_has_a_child_make_the_check_or_makes_it_itself() -> None:
    said = subprocess.run(
        [sys.executable, "-c", MEANWHILE + NO_CHILD_LEFT],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert said.stdout == "made by a child: True True\nmade here instead: True\nno child left\n"
    assert said.stderr == ""
