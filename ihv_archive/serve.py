"""`python build.py serve`: build, serve on 127.0.0.1, rebuild as files change, reload browsers.

Three parts, after MkDocs' livereload:
- the watcher: watchdog calls `Changes.flag()` and nothing else;
- the build loop: waits until changes settle, rebuilds only what changed, and bumps the
  site's generation. It rebuilds as `build` does, from what it keeps in memory instead of
  the build cache: an edit to what posts show by the quick rebuild (quick.py), anything else
  through the render memo and the parse cache;
- the HTTP server: serves the preview folder under the site's own base path, so links behave
  as on GitHub Pages; into HTML it injects a small live-reload script and, while the content
  is broken, the problems at the top of the page.
After the first build, Pagefind indexes a snapshot of the preview for search in a thread
of its own (index_preview) while the preview is already served and rebuilt. The preview is
built into a folder of its own beside its build cache in .cache/, never into site/, and kept
there for the next start, with the cache as the server stopped: that start renders only
what changed since. Nothing injected here ever reaches `build` output (it is injected as
pages are served, not written).
"""

from __future__ import annotations

import errno
import gc
import html
import mimetypes
import os
import re
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from .cache import OLD_SEARCH, BuildCache, cache_file, delete_folders, set_aside_beside
from .config import Config, load_config, with_base_url
from .load import ParseCache, changed_posts, changed_since_loaded, load
from .pipeline import inputs_fingerprint
from .problems import Problem, ProblemsFound
from .quick import GiveWay, InMemory, PublishedAt, made_again
from .render import FragmentLost, Memo, Page, render, search_parts
from .search import index_search
from .urls import SearchPart, Urls
from .validate import Site, next_due, validate
from .write import Staging, files_below, keep, sync_site

# The changes that matter. Asking for these alone also narrows what inotify reports: without
# it, every rebuild's reading of thousands of posts comes back as open/close events that the
# watcher thread must process while the rebuild waits for the interpreter (seen: 3x slower).
WATCHED = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileClosedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]
SETTLE_SECONDS = 0.15  # a burst of file events (save = write temp + rename) ends after this quiet
LIVE_RELOAD = "__livereload"


# --- rebuilding -------------------------------------------------------------------------


@dataclass
class Preview:
    """The state the server shows: the generation of the last good build and any problems."""

    generation: int = 0
    built: bool = False  # has any build succeeded?
    problems: tuple[Problem, ...] = ()
    changed: threading.Condition = field(default_factory=threading.Condition)


@dataclass(frozen=True)
class GoodBuild:
    """The last good build, as the quick rebuild checks it (as pipeline.from_records checks
    the manifest): what it read besides the posts (pipeline.inputs_fingerprint), when its
    next held-back post is due, and how many posts it published."""

    inputs: str
    due: datetime | None
    posts: int


class Rebuilder:
    """Builds the preview; keeps what the last build made so that the next one is incremental."""

    def __init__(
        self,
        root: Path,
        out_dir: Path | None,
        port: int,
        drafts: bool,
        future: bool,
        say: Callable[[str], None],
    ) -> None:
        self.root, self.port = root, port
        self.drafts, self.future, self.say = drafts, future, say
        self.kind = f"serve-{drafts:d}{future:d}"  # of build cache
        # The preview is kept beside the cache (and pruned with it), so that the next start
        # of the same preview renders only what changed since (whole(), publish()).
        self.out_dir = out_dir or cache_file(self.config(), self.kind).with_suffix(".preview")
        self.memo = Memo(keep_recipes=True)
        self.parse_cache = ParseCache()
        self.last_good: GoodBuild | None = None  # the last build, if it succeeded
        # On disk: read for the first build, written after it and when the server stops
        self.cache: BuildCache | None = None
        # Does the preview folder hold what the memo says? Not while a rebuild runs (Ctrl-C may
        # stop it halfway), nor after one that failed (its pages were rendered, not published).
        self.settled = False
        self.first_saved = False  # the first good build (save_first)
        self.inputs_read = ""  # by the last build, besides the posts (pipeline.inputs_fingerprint)
        self.search_parts: list[SearchPart] = []  # of the last build's posts
        # What the preview folder holds (sync_site): not known until the first build is published
        self.written: dict[PurePosixPath, bytes | None] | None = None
        self.preview = Preview()
        self.lock = threading.Lock()  # held while the preview folder changes: requests wait
        self.tidying: threading.Thread | None = None  # deleting the last start's search index

    def config(self) -> Config:
        config = load_config(self.root)
        base_path = Urls(config.base_url).base_path
        return with_base_url(config, f"http://127.0.0.1:{self.port}{base_path}")

    def rebuild(self) -> bool:
        started = time.perf_counter()
        self.settled = False
        try:
            config = self.config()
            now = datetime.now(config.zone)
            inputs = inputs_fingerprint(config)  # first: a change made meanwhile is seen next time
            self.inputs_read = inputs
            posts, written = self.quickly(config, now, inputs) or self.whole(config, now, inputs)
        except ProblemsFound as found:
            self.last_good = None
            with self.preview.changed:
                self.preview.problems = tuple(found.problems)
                self.preview.generation += 1
                self.preview.changed.notify_all()
            self.say(f"{len(found.problems)} problem(s); still serving the last good build:")
            for problem in found.problems:
                self.say(f"  {problem}")
            return False
        with self.preview.changed:
            self.preview.problems = ()
            self.preview.built = True
            self.preview.generation += 1
            self.preview.changed.notify_all()
        self.settled = True
        seconds = time.perf_counter() - started
        self.say(
            f"Built {posts} posts in {seconds:.2f} s: "
            f"{self.memo.rendered} pages rendered, {self.memo.reused} reused, {written} files written"
        )
        return True

    def changed_since_read(self) -> bool:
        """Has anything the last build read changed since: the settings, tags, templates or
        images (pipeline.inputs_fingerprint), or a post file? What `serve` asks once it
        starts watching, of the first build."""
        try:
            config = self.config()
            inputs = inputs_fingerprint(config)
        except ProblemsFound:  # site.toml broken meanwhile
            return True
        return inputs != self.inputs_read or changed_since_loaded(config.posts_dir, self.parse_cache)

    def publish(self, pages: list[Page]) -> int:
        """Bring the preview folder to these pages (sync_site), and say how many files were
        written. The first time, from whatever the folder holds: what the last start left,
        of which the pages the cache vouched for come without bytes and stay; every other
        file goes (pages changed or gone since, the last search index). Later, from what it
        wrote last."""
        with self.lock:
            if self.written is None:
                self.set_aside_old_search_index()
                written = sync_site(pages, self.out_dir)
                self.written = {page.path: page.content for page in pages}
                return written
            return sync_site(pages, self.out_dir, self.written)

    def set_aside_old_search_index(self) -> None:
        """Move the last start's search index out of the preview, and delete it in the
        background (with any that a killed server left): it is no longer right, and a new one
        is made after the first build (index_preview). At 10,000 posts it is some 10,600
        files, whose deleting delayed the first page by 1.7 s."""
        index = self.out_dir / Urls.SEARCH_BUNDLE
        if index.is_dir():
            with suppress(OSError):  # then sync_site deletes it, file by file
                index.rename(
                    tempfile.mkdtemp(prefix=f"{self.out_dir.name}{OLD_SEARCH}", dir=self.out_dir.parent)
                )
        if aside := set_aside_beside(self.out_dir):
            self.tidying = threading.Thread(target=delete_folders, args=(aside,), daemon=True)
            self.tidying.start()

    def save(self) -> None:
        """Write down in the build cache what the memo made since it was read or last saved,
        with the signatures of those pages' files in the preview, for the next start; or say
        that it could not be (a full disk, a locked cache: nothing else is lost)."""
        assert self.cache is not None
        try:
            self.cache.save(self.cache.files_made_since(), {})  # which leaves it closed
        except (sqlite3.Error, OSError) as error:
            self.say(
                f"The preview's cache was not saved ({error}): the next start renders this session's pages again."
            )

    def save_first(self) -> None:
        """Save the first good build at once, so that a server that is killed still leaves
        the next start its pages (later builds are saved when it stops: save_at_stop). Called
        once the build is served: at 10,000 posts, the first page waited 0.9-7.5 s for it."""
        if self.settled and not self.first_saved:
            self.first_saved = True  # or tried: a cache that cannot be saved is not tried each rebuild
            self.save()

    def save_at_stop(self) -> None:
        """Save what this session made, if the preview holds it (`settled`), so that the next
        start renders only what changed after it; but not into a cache that is gone (`build
        --no-cache` clears it, preview and all), and not half (another Ctrl-C: the cache's
        transaction is rolled back, and it stays as it was)."""
        if self.settled and self.cache is not None and self.cache.file.exists():
            with suppress(KeyboardInterrupt):
                self.save()

    def quickly(self, config: Config, now: datetime, inputs: str) -> tuple[int, int] | None:
        """The quick rebuild, from the memo and parse cache, if only what posts show has
        changed since the last good build (its posts and files written); otherwise None,
        with nothing changed."""
        last = self.last_good
        if last is None or last.inputs != inputs or (last.due is not None and now >= last.due):
            return None
        signatures, racy = self.parse_cache.signatures()
        changed = changed_posts(config.posts_dir, signatures)
        if changed is None or not (changed or racy):  # a post added or removed; no post changed
            return None
        records = InMemory(self.memo, self.parse_cache)
        try:
            edit = made_again(config, PublishedAt(now, self.drafts, self.future), changed | racy, records)
        except (GiveWay, FragmentLost):
            return None
        records.save(edit)
        pages = [page for _, page in self.memo.pages.values()]  # the whole site: render keeps no other
        return last.posts, self.publish(pages)

    def whole(self, config: Config, now: datetime, inputs: str) -> tuple[int, int]:
        """The site rendered through the memo (only what changed is made again), or
        ProblemsFound; its posts and files written."""
        first = self.cache is None
        if first:  # start from what the last preview made, as `build` does
            self.cache = BuildCache.open(config, self.kind, texts_when_needed=False, out_dir=self.out_dir)
            self.memo, self.parse_cache = self.cache.memo, self.cache.parse_cache
            self.memo.keep_recipes = True
            self.memo.recipes = self.cache.recipes()
        workers = (os.cpu_count() or 1) if first else 1  # later, this process has threads
        site = validate(load(config, self.parse_cache, workers), config, now, self.drafts, self.future)
        self.search_parts = search_parts(site)
        if first and not self.memo.pages:
            written = self.anew(site)
        else:
            pages, problems = render(site, self.memo, workers)
            if site.problems or problems:
                raise ProblemsFound([*site.problems, *problems])
            written = self.publish(pages)
        self.last_good = GoodBuild(inputs, next_due(site, self.drafts, self.future), len(site.posts))
        return len(site.posts), written

    def anew(self, site: Site) -> int:
        """The first build when there is nothing to start from (no cache, or another version
        of the code made it), made as `build` makes a site: each page is written by the render
        worker that makes it, into a new folder that takes the preview's place once complete
        (write.Staging). Holding every page until the end and then writing them one by one
        took 2-4 s and 495 MB at 10,000 posts. If it fails, the preview stays as it was."""
        with Staging(self.out_dir) as staging:
            pages, problems = render(site, self.memo, os.cpu_count() or 1, sink=staging)
            if site.problems or problems:  # the memo's pages are files that go with the staging
                self.memo.pages, self.memo.contents = {}, {}
                raise ProblemsFound([*site.problems, *problems])
            with self.lock:
                self.set_aside_old_search_index()  # the rest of the old preview goes in the swap
                written = staging.complete(pages)
        self.written = {page.path: None for page in pages}  # the files hold them: sync_site
        return written.rewritten


# --- watching ---------------------------------------------------------------------------


class Changes(FileSystemEventHandler):
    """The watchdog handler: it only flags that something relevant changed."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.pending = threading.Condition()
        self.flagged = False

    def relevant(self, path: str) -> bool:
        file = Path(path)
        try:
            rel = file.resolve().relative_to(self.root)
        except ValueError:
            return False
        if rel == Path("site.toml"):
            return True
        if not rel.parts or rel.parts[0] not in ("content", "templates"):
            return False
        name = file.name  # editors' swap, backup and lock files are not content
        return not (name.startswith((".", "~", "#")) or name.endswith(("~", ".swp", ".swx", ".tmp")))

    def flag(self) -> None:
        with self.pending:
            self.flagged = True
            self.pending.notify_all()

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        paths = [str(event.src_path), str(getattr(event, "dest_path", "") or "")]
        if any(p and self.relevant(p) for p in paths):
            self.flag()

    def wait_until_settled(self, stopping: threading.Event) -> bool:
        """Block until a change is flagged and no new one has come for SETTLE_SECONDS."""
        with self.pending:
            while not self.flagged:
                if stopping.is_set():
                    return False
                self.pending.wait(timeout=0.5)
            self.flagged = False
            while self.pending.wait(timeout=SETTLE_SECONDS):  # more events: wait for quiet
                self.flagged = False
        return not stopping.is_set()


# --- serving ----------------------------------------------------------------------------


def live_reload_script(base_path: str, generation: int) -> str:
    # The page knows which generation it shows, so a rebuild that finishes between the page
    # loading and the script connecting still reloads it.
    return (
        f'<script>(function(){{var s=new EventSource("{base_path}{LIVE_RELOAD}?since={generation}");'
        "s.onmessage=function(){s.close();location.reload();};})();</script>"
    )


def problems_banner(problems: tuple[Problem, ...]) -> str:
    items = "".join(f"<li><code>{html.escape(str(p))}</code></li>" for p in problems)
    return (
        '<div id="build-problems" role="alert" style="font:16px/1.5 system-ui,sans-serif;'
        'background:#fff4f4;color:#5c0000;border:4px solid #b00020;margin:0;padding:1rem 1.5rem">'
        '<p style="margin:0 0 .5rem"><strong>The site could not be rebuilt.</strong> '
        "Fix the problems below and save: this page updates by itself.</p>"
        f'<ul style="margin:0;padding-left:1.25rem">{items}</ul>'
        '<p style="margin:.5rem 0 0">The rest of this page is the last version that built.</p></div>'
    )


def inject(page: bytes, base_path: str, preview: Preview) -> bytes:
    text = page.decode("utf-8", errors="replace")
    if preview.problems:
        opening = re.search(r"<body[^>]*>", text)
        at = opening.end() if opening else 0
        text = text[:at] + problems_banner(preview.problems) + text[at:]
    script = live_reload_script(base_path, preview.generation)
    closing = text.rfind("</body>")
    text = text[:closing] + script + text[closing:] if closing >= 0 else text + script
    return text.encode("utf-8")


def resolve(root: Path, base_path: str, url_path: str) -> Path | str | None:
    """The file a URL path names inside the preview folder; a string is a redirect target;
    None means not found. Nothing outside root can be named: not by '..', not by its
    encoded forms, not through a symbolic link."""
    if not url_path.startswith(base_path):
        return base_path if url_path in ("/", "") else None
    rel = unquote(url_path[len(base_path) :])
    if "\x00" in rel or "\\" in rel:
        return None
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    candidate = root.joinpath(*parts)
    if candidate.is_dir() and not (rel == "" or rel.endswith("/")):
        return url_path + "/"
    if rel == "" or rel.endswith("/"):
        candidate = candidate / "index.html"
    real = candidate.resolve()
    if not real.is_relative_to(root.resolve()) or not real.is_file():
        return None
    return real


class Handler(BaseHTTPRequestHandler):
    server: PreviewServer

    def log_message(self, format: str, *args: object) -> None:  # quiet: editors see rebuilds only
        pass

    def do_HEAD(self) -> None:
        self.respond(head=True)

    def do_GET(self) -> None:
        self.respond(head=False)

    def respond(self, head: bool) -> None:
        server = self.server
        parts = urlsplit(self.path)
        if parts.path == server.base_path + LIVE_RELOAD:
            return self.stream_reloads(parse_qs(parts.query).get("since", ["0"])[0])
        preview = server.rebuilder.preview
        with server.rebuilder.lock:
            target = resolve(server.out_dir, server.base_path, parts.path)
            if isinstance(target, str):
                return self.send(HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain", head, location=target)
            status = HTTPStatus.OK if target is not None else HTTPStatus.NOT_FOUND
            file = target or server.out_dir / "404.html"
            body = file.read_bytes() if file.is_file() else None
        if body is None:  # nothing has built yet: the page is the problems banner
            file, status = Path("error.html"), HTTPStatus.INTERNAL_SERVER_ERROR
            body = (
                b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Build failed</title>'
                b"</head><body><h1>The preview could not be built</h1></body></html>"
            )
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind == "text/html":
            body = inject(body, server.base_path, preview)
        self.send(status, body, kind, head)

    def send(self, status: HTTPStatus, body: bytes, kind: str, head: bool, location: str = "") -> None:
        self.send_response(status)
        self.send_header("Content-Type", f"{kind}; charset=utf-8" if kind.startswith("text/") else kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if location:
            self.send_header("Location", location)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def stream_reloads(self, since: str) -> None:
        """Server-Sent Events: one message as soon as the preview is newer than `since`."""
        preview = self.server.rebuilder.preview
        try:
            seen = int(since)
        except ValueError:
            seen = 0
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        try:
            self.wfile.write(b"retry: 500\n\n")
            self.wfile.flush()
            while not self.server.stopping.is_set():
                with preview.changed:
                    preview.changed.wait_for(lambda: preview.generation > seen, timeout=10)
                    generation = preview.generation
                if generation > seen:
                    self.wfile.write(f"data: {generation}\n\n".encode())
                    self.wfile.flush()
                    return
                self.wfile.write(b": still here\n\n")  # a closed tab shows up as a write error
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, rebuilder_factory: Callable[[int], Rebuilder], base_path: str) -> None:
        super().__init__(("127.0.0.1", port), Handler)  # this machine only, never all interfaces
        self.rebuilder = rebuilder_factory(self.server_address[1])
        self.out_dir = self.rebuilder.out_dir
        self.base_path = base_path
        self.stopping = threading.Event()

    def handle_error(self, request: object, client_address: object) -> None:
        """A browser that left before its answer (a reload, a closed tab, one that gave up
        waiting for the first build) is nothing to tell an editor about; anything else is
        printed, as the standard library does."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def index_preview(rebuilder: Rebuilder, stopping: threading.Event, say: Callable[[str], None]) -> None:
    """The preview's search index, made once, after its first build, while it is served.
    It covers the posts as they were then: indexing again on every save would slow it.
    Pagefind reads a snapshot of the preview beside it (hard links: the build loop replaces
    a page's file, never writes into it), so that rebuilds need not wait for it: at 10,000
    posts it takes some 10 s, and an edit saved meanwhile was shown only after it."""
    preview = rebuilder.out_dir
    # Named as a search index set aside: if the server is killed, the next start deletes it
    snapshot = Path(tempfile.mkdtemp(prefix=f"{preview.name}{OLD_SEARCH}", dir=preview.parent))
    try:
        for rel in files_below(preview):
            with suppress(ProblemsFound):  # a page a rebuild has removed meanwhile: left out
                keep(f"{preview}/{rel}", f"{snapshot}/{rel}", preview)
        index_search(
            snapshot,
            rebuilder.config().language,
            rebuilder.search_parts,
            at_once=os.cpu_count() or 1,
            stop=stopping,
        )
        with rebuilder.lock:
            (snapshot / Urls.SEARCH_BUNDLE).rename(preview / Urls.SEARCH_BUNDLE)
    except (ProblemsFound, OSError) as error:
        if not stopping.is_set():
            why = error.problems[0] if isinstance(error, ProblemsFound) else error
            say(f"Search will not work in this preview: {why}")
    else:
        say("Search is ready: it finds the posts as they were when the preview started.")
    finally:
        if not stopping.is_set():  # when it is, the next start deletes it (in the background)
            delete_folders([snapshot])
    sys.stdout.flush()


def _stop_like_ctrl_c(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(root: Path, port: int, drafts: bool, future: bool, say: Callable[[str], None] = print) -> int:
    base_path = Urls(load_config(root).base_url).base_path
    try:
        server = PreviewServer(port, lambda p: Rebuilder(root, None, p, drafts, future, say), base_path)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            raise ProblemsFound(
                [
                    Problem(
                        "serve",
                        None,
                        f"port {port} is already in use",
                        f"try --port {port + 1}, or stop the other server",
                    )
                ]
            ) from None
        raise
    rebuilder = server.rebuilder
    # Stopped as by Ctrl-C (Pagefind stopped, what the session made saved) when the system
    # asks, and when the terminal window it runs in is closed: how many editors stop it. But
    # not against a wish to run on after the terminal goes (`nohup`, which ignores SIGHUP).
    for asked in ("SIGTERM", "SIGHUP"):  # Windows has no SIGHUP
        number = getattr(signal, asked, None)
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, _stop_like_ctrl_c)
    indexing = threading.Thread(target=index_preview, args=(rebuilder, server.stopping, say), daemon=True)
    if rebuilder.rebuild():
        indexing.start()  # while the preview is served already
    # What the first build made (every post, page and memo entry: some 215,000 objects at
    # 10,000 posts) lives as long as the server, so the cyclic collector is told to leave it
    # alone: each full collection walked it all, 0.12-0.18 s, once or twice in each rebuild
    # that a new post makes. Of it, only the first templates' environment can become garbage
    # in a cycle (when templates, tags or settings change), and is then kept, once.
    gc.freeze()
    # Watched from now on, not during the first build: watchdog's thread would keep that build
    # from forking render workers (children.may_run_python_in_a_child): at 10,000 posts, it
    # rendered every page in one process. What was changed while it ran is found by comparing.
    changes = Changes(root)
    observer = Observer()
    for folder in (root / "content", root / "templates"):
        if folder.is_dir():
            observer.schedule(changes, str(folder), recursive=True, event_filter=WATCHED)
    observer.schedule(changes, str(root), recursive=False, event_filter=WATCHED)  # site.toml
    observer.start()
    if rebuilder.changed_since_read():
        changes.flag()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    say(f"Serving http://127.0.0.1:{server.server_address[1]}{base_path}  (Ctrl-C to stop)")
    if drafts or future:
        say("Showing " + " and ".join(w for w, on in (("drafts", drafts), ("scheduled posts", future)) if on))
    sys.stdout.flush()
    try:
        rebuilder.save_first()
        while changes.wait_until_settled(server.stopping):
            rebuilder.rebuild()
            rebuilder.save_first()  # if the first build failed and this is the first good one
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()  # also stops Pagefind, if it is still indexing
        if indexing.is_alive():
            indexing.join(timeout=10)
        observer.stop()
        server.shutdown()
        server.server_close()
        observer.join(timeout=2)
        rebuilder.save_at_stop()
        with suppress(OSError):  # its terminal may be gone: the window was closed (SIGHUP)
            say("Stopped.")
    return 0
