"""Child processes (render workers, Pagefind) that die with the build that started them.

A build killed outright (SIGKILL, the out-of-memory killer, a CI timeout) cannot stop its
children, and a child left running would go on writing into the staging folder that the
next build clears away. On Linux, prctl(PR_SET_PDEATHSIG) has the kernel kill them with
their parent; elsewhere workers stop when the pool's pipes close.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
from contextlib import suppress

PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> None:
    """Run in the child: be killed when `parent` dies (kept across exec)."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before that took effect
        os._exit(1)


def may_run_python_in_a_child() -> bool:
    """Whether a forked child of this process may run Python (a render worker, or die_with
    before exec): only if this process has no other threads, whose locks the child would
    inherit held. The dev server has some; a command-line build has none."""
    return threading.active_count() == 1
