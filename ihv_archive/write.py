"""Write: the ONLY code that creates, replaces or deletes anything in the output folder.

The site is made in a staging folder beside it and swapped in only when complete, so a
failed or killed build leaves the old site or the new one, never a mixture. An unchanged
file is a hard link to the old site's: no bytes are written for it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from stat import S_ISREG

from .problems import ProblemsFound, display_path
from .render import Page

Signature = tuple[int, int, int]  # size, mtime (ns) and inode of a file written


@dataclass(frozen=True)
class Written:
    files: dict[str, Signature]  # every file of the new site, by its path there
    rewritten: int  # of those, files with new bytes (the rest are the old site's, linked)


def refuse_unsafe_out_dir(out_dir: Path, root: Path, kept: Iterable[Path]) -> None:
    """The output folder is replaced whole: it may not be or hold the project, nor be, hold
    or lie inside one of the project's own folders (`kept`)."""
    out = out_dir.resolve()
    for path in [root, *kept]:
        folder = path.resolve()
        if out == folder or folder.is_relative_to(out) or (path != root and out.is_relative_to(folder)):
            what = f"cannot be the output folder: it would replace {display_path(path)}"
            raise ProblemsFound.one(
                display_path(out_dir), None, what, "choose an empty folder or the default site/"
            )


@contextmanager
def locked(out_dir: Path, lock_file: Path) -> Iterator[None]:
    """One build at a time for an output folder (by its lock file): a second is told plainly."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ProblemsFound.one(
                display_path(out_dir),
                None,
                "another build is writing this folder right now",
                "wait for it to finish, then build again",
            ) from None
        yield  # the lock goes with the file's closing, or with the process


def recover(out_dir: Path) -> None:
    """Clear what a killed build left beside the output folder; if it was killed between the
    two renames of the swap, the previous site is put back first."""
    leftovers = sorted(out_dir.parent.glob(f".{out_dir.name}.old-*"))
    if not out_dir.exists() and leftovers:
        leftovers.pop().rename(out_dir)
    for leftover in [*leftovers, *out_dir.parent.glob(f".{out_dir.name}.new-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def signature(path: Path | str) -> Signature | None:
    try:
        found = os.stat(path, follow_symlinks=False)
    except OSError:
        return None
    return (found.st_size, found.st_mtime_ns, found.st_ino) if S_ISREG(found.st_mode) else None


def intact(out_dir: Path, recorded: Mapping[str, Signature]) -> set[str]:
    """The recorded files that are still, below out_dir, the very files that were written."""
    return {name for name, expected in recorded.items() if signature(f"{out_dir}/{name}") == expected}


def files_below(folder: Path) -> set[str]:
    """Every file below a folder, by its path there ('posts/2024/x/index.html')."""
    return {
        Path(top, name).relative_to(folder).as_posix()
        for top, folders, names in os.walk(folder)
        for name in [
            *names,
            *(f for f in folders if Path(top, f).is_symlink()),
        ]  # links: listed, not followed
    }


def checked(path: PurePosixPath) -> str:
    """A page's path as a string, refusing any that could leave the site folder (urls.output_file
    refuses these already; checked again where files are made)."""
    rel = path.as_posix()
    if path.is_absolute() or ".." in rel.split("/") or rel in ("", "."):
        raise ValueError(f"refusing to write outside the site folder: {path}")
    return rel


class Staging:
    """The new site, made in a folder beside the old one and swapped in only when complete;
    if anything fails first, the folder is deleted and the old site stays as it was."""

    def __init__(self, out_dir: Path, old_files: Mapping[str, bytes]) -> None:
        self.out_dir = out_dir.absolute()
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self.old_files = old_files  # the old site's files still as written, by path: their content's digest
        self.folder = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.new-", dir=self.out_dir.parent))
        self.files: dict[str, Signature] = {}
        self.folders: set[str] = {""}  # made already
        self.rewritten = 0

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)  # gone already if swapped in

    def put(self, page: Page) -> None:
        """A page's file: the old site's (a hard link) if it holds these bytes, else written."""
        rel = checked(page.path)
        if self.old_files.get(rel) == page.digest:
            return self.keep(rel)
        if page.content is None:
            raise ValueError(f"no bytes for {rel}, and the old site does not have it")
        with open(self.target(rel), "xb") as out:
            out.write(page.content)
        self.files[rel] = signature(f"{self.folder}/{rel}") or (0, 0, 0)
        self.rewritten += 1

    def keep(self, rel: str) -> None:
        """Carry a file over from the old site, as it is (a hard link: no bytes written)."""
        target, source = self.target(rel), f"{self.out_dir}/{rel}"
        try:
            os.link(source, target, follow_symlinks=False)
        except FileNotFoundError:
            raise ProblemsFound.one(
                display_path(self.out_dir),
                None,
                f"{rel} was removed while the site was being built",
                "build again (the site folder is as it was)",
            ) from None
        except OSError:  # a file system without hard links: copy the bytes instead
            shutil.copyfile(source, target)
        self.files[rel] = signature(target) or (0, 0, 0)

    def target(self, rel: str) -> str:
        """Where a file goes in the staging folder, its folder made (plain strings: 10,000s of them)."""
        folder = os.path.dirname(rel)
        if folder not in self.folders:
            os.makedirs(f"{self.folder}/{folder}", exist_ok=True)
            self.folders.add(folder)
        return f"{self.folder}/{rel}"

    def add_made_below(self, folder: str) -> None:
        """Count the files a tool made in a folder of the staging site (the search index)."""
        for file in sorted((self.folder / folder).rglob("*")):
            if file.is_file():
                self.files[file.relative_to(self.folder).as_posix()] = signature(file) or (0, 0, 0)
                self.rewritten += 1

    def swap(self) -> Written:
        """Two renames: the old site steps aside, the new one takes its name; the old one goes."""
        os.chmod(self.folder, 0o755)  # mkdtemp makes it private; a web server must read it
        if not self.out_dir.exists():
            self.folder.rename(self.out_dir)
        else:
            retired = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.old-", dir=self.out_dir.parent))
            retired.rmdir()
            self.out_dir.rename(retired)
            try:
                self.folder.rename(self.out_dir)
            except BaseException:
                retired.rename(self.out_dir)  # put the old site back
                raise
            shutil.rmtree(retired, ignore_errors=True)
        return Written(self.files, self.rewritten)


def remove_site(out_dir: Path) -> None:
    """Delete a site this program made (the dev server's preview, when it stops)."""
    with suppress(OSError):
        shutil.rmtree(out_dir)
