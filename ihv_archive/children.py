"""Child processes (render workers, Pagefind): run work in parallel, and die with the
build that started them.

A build killed outright (SIGKILL, the out-of-memory killer, a CI timeout) cannot stop its
children, and a child left running would go on writing into the staging folder that the
next build clears away. On Linux, prctl(PR_SET_PDEATHSIG) has the kernel kill them with
their parent; elsewhere workers stop when the pool's pipes close.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

PR_SET_PDEATHSIG = 1
Progress = Callable[[str, int, int], None]  # what is being done, how many done, of how many (0: unknown)


def die_with(parent: int) -> None:
    """Run in the child: be killed when `parent` dies (kept across exec)."""
    import ctypes  # here, not at the top: most builds start no child (13 ms of every start)

    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before that took effect
        os._exit(1)


def may_run_python_in_a_child() -> bool:
    """Whether a forked child of this process may run Python (a render worker, or die_with
    before exec): only if this process has no other threads, whose locks the child would
    inherit held. The dev server has some; a command-line build has none."""
    return threading.active_count() == 1


PARALLEL_FROM = 64  # below this many items, starting processes costs more than it saves
CHUNK = 32  # items a worker takes at a time
# What forked workers run, and on what: they inherit both, so only (start, end) is sent.
_task: Callable[[Any], Any] | None = None
_items: list[Any] = []


def _run_chunk(span: tuple[int, int]) -> list[Any]:
    assert _task is not None
    return [_task(item) for item in _items[span[0] : span[1]]]


def _start_worker(parent: int) -> None:
    die_with(parent)  # workers write pages: none may outlive a killed build
    # Stopped by their pool (SIGTERM) or with their build, and by nothing their parent
    # handles for itself: Ctrl-C reaches every process of the terminal's foreground group,
    # and the dev server takes SIGTERM and SIGHUP for Ctrl-C. A worker would print each as
    # an interruption; the parent stops and ends the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for default in ("SIGTERM", "SIGHUP"):  # Windows has no SIGHUP
        if (number := getattr(signal, default, None)) is not None:
            signal.signal(number, signal.SIG_DFL)


def _fork(run: Callable[[], int]) -> int:
    """Fork a child that runs `run`, whose result is its exit status (2 if it raises), and
    ends there whatever happens: it never returns into the parent's code. The child's pid."""
    parent = os.getpid()
    child = os.fork()
    if child == 0:
        status = 2
        try:
            _start_worker(parent)
            status = run()
        finally:
            os._exit(status)
    return child


def in_parallel(
    task: Callable[[Any], Any], items: list[Any], workers: int, doing: str, progress: Progress | None
) -> Iterator[Any]:
    """task(item) for each item, in order, in `workers` forked processes when that pays.
    Forked, so workers start in milliseconds with everything already loaded; only from a
    process without other threads (the dev server has some), where forking is safe. Results
    come as they are made, so the caller need not hold them all."""
    global _task, _items
    spans = [(start, min(start + CHUNK, len(items))) for start in range(0, len(items), CHUNK)]
    if workers > 1 and len(items) >= PARALLEL_FROM and may_run_python_in_a_child():
        import multiprocessing  # here: most builds start no worker (the quick rebuild, the up-to-date check)

        _task, _items = task, items
        try:
            with multiprocessing.get_context("fork").Pool(workers, _start_worker, (os.getpid(),)) as pool:
                for (_, end), results in zip(spans, pool.imap(_run_chunk, spans), strict=True):
                    yield from results
                    if progress:
                        progress(doing, end, len(items))
        finally:
            _task, _items = None, []
        return
    for start, end in spans:
        yield from (task(item) for item in items[start:end])
        if progress:
            progress(doing, end, len(items))


def in_halves(task: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """[task(item) for item in items], the later half made by a forked child while this
    process makes the first. For work done before the render workers start, whose results
    cost little to send (load.py's parsing: a post takes 150-300 µs to read and parse, and
    some 12 µs to unpickle), and which in_parallel would leave this process idle for. All here
    when a child may not run Python; the child's half is made here too if it fails."""
    half = len(items) // 2
    if half == 0 or not may_run_python_in_a_child():
        return [task(item) for item in items]
    import pickle  # here, as multiprocessing is: most builds start no child

    readable, writable = os.pipe()

    def send_the_later_half() -> int:
        os.close(readable)
        made = pickle.dumps([task(item) for item in items[half:]], protocol=pickle.HIGHEST_PROTOCOL)
        with open(writable, "wb") as out:
            out.write(made)
        return 0

    child = _fork(send_the_later_half)
    os.close(writable)
    with open(readable, "rb") as pipe:
        try:
            mine = [task(item) for item in items[:half]]
            sent = pipe.read()
        except BaseException:
            os.kill(child, signal.SIGKILL)  # not reaped yet, so still ours to signal
            raise
        finally:
            _, status = os.waitpid(child, 0)
    theirs = pickle.loads(sent) if status == 0 and sent else [task(item) for item in items[half:]]
    return mine + theirs


@contextmanager
def meanwhile(check: Callable[[], bool]) -> Iterator[Callable[[], bool]]:
    """check(), made by a forked child while this process goes on: gives what waits for the
    answer. For a check of many files that is needed only later (pipeline.from_records: the
    site's 13,500 files at 10,000 posts, while the post files are checked and a post
    rendered again). Made here, when asked, where a child may not run Python or if the
    child fails; a child whose answer is not asked for is stopped."""
    if not may_run_python_in_a_child():
        yield check
        return
    child = _fork(lambda: 0 if check() else 1)
    exit_code: int | None = None
    answer: bool | None = None

    def wait() -> bool:
        nonlocal exit_code, answer
        if exit_code is None:
            exit_code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        if answer is None:
            answer = exit_code == 0 if exit_code in (0, 1) else check()
        return answer

    try:
        yield wait
    finally:
        if exit_code is None:  # its answer was not asked for: not wanted
            os.kill(child, signal.SIGKILL)  # not reaped yet, so still ours to signal
            os.waitpid(child, 0)
