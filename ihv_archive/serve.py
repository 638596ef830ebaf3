"""`python build.py serve`: build, serve on 127.0.0.1, rebuild as files change, reload browsers.

After MkDocs' livereload: the watchdog handler only flags a change; one loop waits for
changes to settle and builds the preview as `build` does (cache in memory, a temporary
folder); the HTTP server serves it under the site's base path, injecting a live-reload
script and, while the content is broken, its problems (as pages are served, never written).
"""

from __future__ import annotations

import errno
import html
import mimetypes
import re
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from .cache import Cache
from .config import Config, load_config, normalise_base_url
from .content import Post
from .pipeline import Options, build
from .presentation import human_date
from .problems import Problem, ProblemsFound
from .urls import Urls
from .write import remove_site

SETTLE_SECONDS = 0.15  # a burst of file events (save = write temp + rename) ends after this quiet
LIVE_RELOAD = "__livereload"


@dataclass
class Preview:
    """The state the server shows: the generation of the last build and any problems."""

    generation: int = 0
    problems: tuple[Problem, ...] = ()
    stale: bool = False  # the last build failed: the pages are from the one before
    held_back: dict[str, Post] = field(default_factory=dict)  # by site path: drafts, scheduled posts
    changed: threading.Condition = field(default_factory=threading.Condition)


class Rebuilder:
    """Builds the preview, keeping the build cache in memory between builds."""

    def __init__(self, root: Path, port: int, options: Options, say: Callable[[str], None]) -> None:
        self.root, self.port, self.options, self.say = root, port, options, say
        self.folder = Path(tempfile.mkdtemp(prefix="ihv-preview-"))
        self.out_dir = self.folder / "site"
        self.cache = Cache.in_memory()
        self.preview = Preview()
        self.lock = threading.Lock()  # held while the preview folder changes: requests wait

    def config(self) -> Config:
        config = load_config(self.root)
        base_path = Urls(config.base_url).base_path
        return replace(
            config,
            base_url=normalise_base_url(f"http://127.0.0.1:{self.port}{base_path}"),
            out_dir=self.out_dir,
        )

    def rebuild(self) -> bool:
        started = time.perf_counter()
        # Until there is a preview, build what builds (a new post's mistake must not make every
        # page an error); after that, a mistake keeps the last good build, the edited post too.
        options = replace(self.options, keep_going=self.preview.generation == 0)
        try:
            with self.lock:
                result = build(self.config(), options=options, cache=self.cache)
        except ProblemsFound as found:
            self.show(tuple(found.problems), stale=True, held_back=self.preview.held_back)
            self.say(f"{len(found.problems)} problem(s); still serving the last good build:")
            for problem in found.problems:
                self.say(f"  {problem}")
            return False
        self.show(result.problems, stale=False, held_back={Urls.post(p): p for p in result.held_back})
        seconds, kept = time.perf_counter() - started, result.files - result.rewritten
        self.say(
            f"Built {result.posts} posts in {seconds:.2f} s: {result.rewritten} files written, {kept} unchanged"
        )
        if result.problems:
            self.say(f"{len(result.problems)} problem(s); the preview leaves out what they concern:")
            for problem in result.problems:
                self.say(f"  {problem}")
        return not result.problems

    def show(self, problems: tuple[Problem, ...], stale: bool, held_back: dict[str, Post]) -> None:
        with self.preview.changed:
            self.preview.problems, self.preview.stale, self.preview.held_back = problems, stale, held_back
            self.preview.generation += 1
            self.preview.changed.notify_all()

    def close(self) -> None:
        self.cache.close()
        remove_site(self.folder)


class Changes(FileSystemEventHandler):
    """The watchdog handler: it only flags that something relevant changed."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.pending = threading.Condition()
        self.flagged = False

    def relevant(self, path: str) -> bool:
        """site.toml, or a file below content/ or templates/ but editors' swap, backup and lock files."""
        file, name = Path(path).resolve(), Path(path).name
        rel = file.relative_to(self.root) if file.is_relative_to(self.root) else Path("/")
        if rel.parts[:1] not in (("content",), ("templates",)):
            return rel == Path("site.toml")
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

    def wait_until_settled(self) -> None:
        """Block until a change is flagged and no new one has come for SETTLE_SECONDS."""
        with self.pending:
            while not self.flagged:
                self.pending.wait(timeout=0.5)  # so that Ctrl-C is noticed
            self.flagged = False
            while self.pending.wait(timeout=SETTLE_SECONDS):  # more events: wait for quiet
                self.flagged = False


def live_reload_script(base_path: str, generation: int) -> str:
    # The page knows which generation it shows, so a rebuild that finishes between the page
    # loading and the script connecting still reloads it.
    return (
        f'<script>(function(){{var s=new EventSource("{base_path}{LIVE_RELOAD}?since={generation}");'
        "s.onmessage=function(){s.close();location.reload();};})();</script>"
    )


def problems_banner(problems: tuple[Problem, ...], stale: bool) -> str:
    items = "".join(f"<li><code>{html.escape(str(p))}</code></li>" for p in problems)
    meanwhile = (
        "The rest of this page is the last version that built."
        if stale
        else "Until then the preview leaves out the posts they are in."
    )
    return (
        '<div id="build-problems" role="alert" style="font:16px/1.5 system-ui,sans-serif;position:sticky;'
        "top:0;z-index:9999;max-height:60vh;overflow:auto;"  # in view wherever the reloaded page is scrolled
        'background:#fff4f4;color:#5c0000;border:4px solid #b00020;padding:1rem 1.5rem">'
        '<p style="margin:0 0 .5rem"><strong>The site could not be rebuilt.</strong> '
        "Fix the problems below and save: this page updates by itself.</p>"
        f'<ul style="margin:0;padding-left:1.25rem">{items}</ul>'
        f'<p style="margin:.5rem 0 0">{meanwhile}</p></div>'
    )


def held_back_page(post: Post, base_path: str) -> bytes:
    """What the preview shows at a draft's or a scheduled post's address, instead of 404."""
    scheduled = post.date > datetime.now(post.date.tzinfo)
    why = [
        *(["is a draft: drafts are left out"] if post.draft else []),
        *([f"is dated {human_date(post)}: it is left out until that day"] if scheduled else []),
    ]
    flags = " ".join(flag for flag, on in (("--drafts", post.draft), ("--future", scheduled)) if on)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Not published yet</title>'
        f'<link rel="stylesheet" href="{base_path}{Urls.STATIC}style.css"></head><body><main id="main">'
        f"<h1>{html.escape(post.title)}</h1><p>This post ({html.escape(post.path)}) {' and '.join(why)}, "
        "on the live site and in this preview.</p><p>To see it here, stop the preview (Ctrl-C) and "
        f"start it again with:</p><pre><code>python build.py serve {flags}</code></pre></main></body></html>"
    ).encode()


def inject(page: bytes, base_path: str, preview: Preview) -> bytes:
    text = page.decode("utf-8", errors="replace")
    if preview.problems:
        opening = re.search(r"<body[^>]*>", text)
        at = opening.end() if opening else 0
        text = text[:at] + problems_banner(preview.problems, preview.stale) + text[at:]
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
    if any(len(part.encode()) > 255 for part in parts):  # longer than a file name can be
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
        port = server.server_address[1]
        if self.headers.get("Host", "") not in {
            f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")
        }:
            # Only this machine's own names: a page elsewhere that rebinds its name to
            # 127.0.0.1 (DNS rebinding) must not read the preview.
            return self.send(HTTPStatus.MISDIRECTED_REQUEST, b"", "text/plain", head)
        if parts.path == server.base_path + LIVE_RELOAD:
            if not server.live_reloads.acquire(blocking=False):  # each held open: a few is plenty
                return self.send(HTTPStatus.SERVICE_UNAVAILABLE, b"", "text/plain", head)
            try:
                return self.stream_reloads(parse_qs(parts.query).get("since", ["0"])[0])
            finally:
                server.live_reloads.release()
        rebuilder = server.rebuilder
        with rebuilder.lock:
            target = resolve(rebuilder.out_dir, server.base_path, parts.path)
            if isinstance(target, str):
                return self.send(HTTPStatus.MOVED_PERMANENTLY, b"", "text/plain", head, location=target)
            status = HTTPStatus.OK if target is not None else HTTPStatus.NOT_FOUND
            file = target or rebuilder.out_dir / "404.html"
            body = file.read_bytes() if file.is_file() else None
            site_path = parts.path.removeprefix(server.base_path).rstrip("/") + "/"
            held = rebuilder.preview.held_back.get(site_path)
            if target is None and held is not None:
                file, body = Path("held.html"), held_back_page(held, server.base_path)
        if body is None:  # nothing has built yet: the page is the problems banner
            file, status = Path("error.html"), HTTPStatus.INTERNAL_SERVER_ERROR
            body = (
                b'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Build failed</title>'
                b"</head><body><h1>The preview could not be built</h1></body></html>"
            )
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if kind == "text/html":
            body = inject(body, server.base_path, rebuilder.preview)
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
    request_queue_size = 128  # a browser asks for a page's files all at once
    LIVE_RELOADS = 32  # connections held open for live reload at most

    def __init__(self, port: int, base_path: str) -> None:
        super().__init__(("127.0.0.1", port), Handler)  # this machine only, never all interfaces
        self.base_path = base_path
        self.stopping = threading.Event()
        self.live_reloads = threading.BoundedSemaphore(self.LIVE_RELOADS)
        self.rebuilder: Rebuilder

    def handle_error(self, request: object, client_address: object) -> None:
        """A browser that left before its answer (a reload, a closed tab) is nothing to tell
        an editor about; anything else is printed, as the standard library does."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _stop_like_ctrl_c(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve(root: Path, port: int, drafts: bool, future: bool, say: Callable[[str], None] = print) -> int:
    base_path = Urls(load_config(root).base_url).base_path
    # Stopped as by Ctrl-C when the system asks, and when the terminal window it runs in is
    # closed; but not against a wish to run on after the terminal goes (`nohup` ignores SIGHUP).
    for asked in ("SIGTERM", "SIGHUP"):  # Windows has no SIGHUP
        number = getattr(signal, asked, None)
        if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
            signal.signal(number, _stop_like_ctrl_c)
    try:
        server = PreviewServer(port, base_path)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            fix = f"try --port {port + 1}, or stop the other server"
            raise ProblemsFound.one("serve", None, f"port {port} is already in use", fix) from None
        raise
    # The preview's search index is made by its first build and carried over by the next:
    # indexing again on every save would slow the preview down (a part of a large archive: 1 s).
    options = Options(drafts=drafts, future=future, reindex=False)
    rebuilder = server.rebuilder = Rebuilder(root, server.server_address[1], options, say)
    observer = Observer()
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    try:
        changes = Changes(root)
        for folder in (root / "content", root / "templates"):
            if folder.is_dir():
                observer.schedule(changes, str(folder), recursive=True)
        observer.schedule(changes, str(root), recursive=False)  # site.toml
        observer.start()  # before the first build: what is saved during it is built next
        rebuilder.rebuild()
        serving.start()
        say(f"Serving http://127.0.0.1:{server.server_address[1]}{base_path}  (Ctrl-C to stop)")
        if drafts or future:
            say(
                "Showing "
                + " and ".join(w for w, on in (("drafts", drafts), ("scheduled posts", future)) if on)
            )
        sys.stdout.flush()
        while True:
            changes.wait_until_settled()
            rebuilder.rebuild()
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        server.stopping.set()
        if observer.is_alive():
            observer.stop()
            observer.join(timeout=2)
        if serving.is_alive():
            server.shutdown()
        server.server_close()
        rebuilder.close()
        with suppress(OSError):  # its terminal may be gone: the window was closed (SIGHUP)
            say("Stopped.")
    return 0
