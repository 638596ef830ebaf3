"""The dev server, driven as an editor uses it: start it, read pages, edit files, watch."""

from __future__ import annotations

import fcntl
import http.client
import os
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ihv_archive.serve import Preview, inject, resolve

from .conftest import PROJECT, run, wait_for

SUMMIT = "content/posts/2024/summit.md"
SUMMIT_URL = "/news-archive/posts/2024/summit/"


class Server:
    def __init__(self, process: subprocess.Popen[str], port: int, log: list[str]) -> None:
        self.process, self.port, self.log = process, port, log

    def get(self, path: str) -> tuple[int, str]:
        """A raw GET: the path is sent exactly as given, so '..' is not tidied away first."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read().decode("utf-8", errors="replace")
        connection.close()
        return response.status, body


def serve_command(root: Path, *flags: str, port: int = 0) -> list[str]:
    return [
        sys.executable,
        "-u",
        str(PROJECT / "build.py"),
        "--root",
        str(root),
        "serve",
        "--port",
        str(port),
        *flags,
    ]


def start(root: Path, *flags: str, port: int = 0, under: tuple[str, ...] = ()) -> Server:
    """`serve` started (run `under` a command such as nohup, if given), once it serves."""
    return serving([*under, *serve_command(root, *flags, port=port)], root)


def serving(command: list[str], root: Path) -> Server:
    """A dev server started by this command, once it serves."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=root)
    log: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        log.append(line)
        if match := re.search(r"Serving http://127\.0\.0\.1:(\d+)/news-archive/", line):
            threading.Thread(target=lambda: log.extend(process.stdout), daemon=True).start()  # type: ignore[arg-type]
            return Server(process, int(match[1]), log)
    raise AssertionError("serve did not start:\n" + "".join(log))


@pytest.fixture
def server(archive: Path) -> Iterator[Server]:
    running = start(archive)
    yield running
    if running.process.poll() is None:
        running.process.send_signal(signal.SIGINT)
        running.process.wait(timeout=10)


def test_pages_are_served_under_the_base_path(server: Server) -> None:
    status, body = server.get("/news-archive/")
    assert status == 200 and "<h1>News archive</h1>" in body
    assert 'EventSource("/news-archive/__livereload' in body
    assert server.get("/")[0] == 301
    assert server.get("/news-archive/posts/2024")[0] == 301  # a folder: add the slash
    status, body = server.get("/news-archive/no-such-page/")
    assert status == 404 and "Page not found" in body
    status, body = server.get("/news-archive/feed.xml")
    assert status == 200 and "__livereload" not in body  # only HTML gets the script


def test_an_edit_is_served_after_the_rebuild(archive: Path, server: Server) -> None:
    post = archive / SUMMIT
    post.write_text(post.read_text().replace("Please use the new link.", "Please use the NEWEST link."))
    wait_for(lambda: "NEWEST link" in server.get(SUMMIT_URL)[1], "the edited text")


def test_saving_by_writing_a_temporary_file_and_renaming_it_works(archive: Path, server: Server) -> None:
    post = archive / SUMMIT
    temporary = post.with_name(".summit.md.tmp")
    temporary.write_text(post.read_text().replace("Please use the new link.", "Saved the safe way."))
    os.replace(temporary, post)
    wait_for(lambda: "Saved the safe way." in server.get(SUMMIT_URL)[1], "the renamed-in text")


def test_broken_content_shows_its_problem_on_every_page_until_fixed(archive: Path, server: Server) -> None:
    post = archive / SUMMIT
    good = post.read_text()
    post.write_text(good.replace("date: 2024-04-22T09:30:00", "date: yesterday"))
    wait_for(lambda: 'id="build-problems"' in server.get("/news-archive/")[1], "the problems banner")
    for path in ("/news-archive/", SUMMIT_URL, "/news-archive/tags/"):
        status, body = server.get(path)
        assert status == 200, path  # the last good build is still served
        assert (
            "content/posts/2024/summit.md:3: date: &#x27;yesterday&#x27; is not a date (use YYYY-MM-DD)"
            in body
        )
    assert any(
        "summit.md:3: date: 'yesterday' is not a date" in line for line in server.log
    )  # the terminal too
    post.write_text(good)
    wait_for(lambda: 'id="build-problems"' not in server.get("/news-archive/")[1], "the banner to go")


def test_a_new_post_with_an_empty_summary_is_a_problem_on_that_post_not_everywhere(archive: Path) -> None:
    assert (
        run(archive, "new", "Health visiting in 2025", "--date", "2024-05-01", "--tags", "safeguarding") == 0
    )
    post = archive / "content/posts/2024/health-visiting-2025.md"
    running = start(archive)  # its first build: every other page is there
    try:
        for path in ("/news-archive/", SUMMIT_URL, "/news-archive/tags/safeguarding/"):
            status, body = running.get(path)
            assert status == 200, path
            assert "content/posts/2024/health-visiting-2025.md:" in body and "summary: empty" in body
            assert "Until then the preview leaves out the posts they are in." in body
        assert running.get("/news-archive/posts/2024/health-visiting-2025/")[0] == 404
        post.write_text(post.read_text().replace('summary: ""', 'summary: "What we heard."'))
        wait_for(
            lambda: running.get("/news-archive/posts/2024/health-visiting-2025/")[0] == 200, "the fixed post"
        )
        assert 'id="build-problems"' not in running.get("/news-archive/")[1]
    finally:
        running.process.send_signal(signal.SIGINT)
        running.process.wait(timeout=10)


@pytest.mark.parametrize(
    "path",
    [
        "/news-archive/../../../../etc/passwd",
        "/news-archive/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/news-archive/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "/news-archive/posts/..%2f..%2f..%2fsite.toml",
        "/news-archive/%00index.html",
        "/news-archive/..\\..\\site.toml",
    ],
)
def test_nothing_outside_the_built_site_can_be_read(server: Server, path: str) -> None:
    status, body = server.get(path)
    assert status == 404, (path, status)
    assert "root:" not in body and "base_url" not in body


def test_drafts_and_scheduled_posts_only_with_their_flags(archive: Path, server: Server) -> None:
    status, body = server.get("/news-archive/posts/2024/draft-post")
    assert status == 404 and "Page not found" not in body
    assert "(content/posts/2024/draft-post.md) is a draft" in body
    assert "<code>python build.py serve --drafts</code>" in body
    status, body = server.get("/news-archive/posts/2999/scheduled/")
    assert status == 404 and "is dated 1 January 2999: it is left out until that day" in body
    assert "<code>python build.py serve --future</code>" in body
    flagged = start(archive, "--drafts", "--future")
    try:
        status, body = flagged.get("/news-archive/posts/2024/draft-post/")
        assert status == 200 and "Draft</strong>" in body
        assert flagged.get("/news-archive/posts/2999/scheduled/")[0] == 200
    finally:
        flagged.process.send_signal(signal.SIGINT)
        flagged.process.wait(timeout=10)


def test_a_port_in_use_gets_a_clear_message(archive: Path, server: Server) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "build.py"),
            "--root",
            str(archive),
            "serve",
            "--port",
            str(server.port),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"serve: port {server.port} is already in use (try --port {server.port + 1}" in result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_stops_cleanly(server: Server) -> None:
    server.process.send_signal(signal.SIGINT)
    assert server.process.wait(timeout=10) == 0
    wait_for(lambda: any("Stopped." in line for line in server.log), "the goodbye")
    assert not any("Traceback" in line for line in server.log)
    with pytest.raises(OSError):
        server.get("/news-archive/")


def free_port() -> int:
    """A port free now, for a server to be started on it twice."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def edit_summit(archive: Path) -> None:
    post = archive / SUMMIT
    post.write_text(post.read_text().replace("Please use the new link.", "Please use the NEWEST link."))


def test_stopping_removes_the_preview_and_leaves_the_project_as_it_was(archive: Path, tmp_path: Path) -> None:
    """The preview lives in a temporary folder of its own: gone once the server stops, and
    nothing of it in the project (no site/, no .cache/)."""
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    before = sorted(p.relative_to(archive) for p in archive.rglob("*"))
    process = subprocess.Popen(
        serve_command(archive),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=archive,
        env={**os.environ, "TMPDIR": str(temporary)},
    )
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("Serving"):
            break
    assert [p.name for p in temporary.iterdir() if p.name.startswith("ihv-preview-")] != []
    edit_summit(archive)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=10) == 0
    assert [p.name for p in temporary.iterdir() if p.name.startswith("ihv-preview-")] == []
    after = sorted(p.relative_to(archive) for p in archive.rglob("*"))
    assert [p for p in after if p not in before] == []


@contextmanager
def serving_as(wrapped: str, archive: Path, *args: str) -> Iterator[Server]:
    """`serve` run in a process of its own after the script `wrapped` has wrapped one of its
    parts (given the archive and `args`), stopped afterwards as with Ctrl-C."""
    script = wrapped + "\nsys.exit(serve.serve(Path(sys.argv[1]), 0, drafts=False, future=False))\n"
    running = serving([sys.executable, "-c", script, str(archive), *args], archive)
    try:
        yield running
    finally:
        running.process.send_signal(signal.SIGINT)
        running.process.wait(timeout=10)


# `serve`, with an edit saved to the summit post just after its first build has read it.
SERVE_WITH_AN_EDIT_DURING_THE_FIRST_BUILD = """
import sys
from pathlib import Path
from ihv_archive import serve

post = Path(sys.argv[2])
rebuild, rebuilds = serve.Rebuilder.rebuild, []

def first_with_an_edit(rebuilder, **options):
    rebuilds.append(rebuilder)
    if len(rebuilds) > 1:
        return rebuild(rebuilder, **options)
    built = rebuild(rebuilder, **options)
    post.write_text(post.read_text().replace("Please use the new link.", "Edited during the first build."))
    return built

serve.Rebuilder.rebuild = first_with_an_edit
"""


def test_an_edit_saved_during_the_first_build_is_served(archive: Path) -> None:
    with serving_as(SERVE_WITH_AN_EDIT_DURING_THE_FIRST_BUILD, archive, str(archive / SUMMIT)) as running:
        wait_for(lambda: "Edited during the first build." in running.get(SUMMIT_URL)[1], "the edit")


# `serve`, with a browser that asks for the home page while the first build runs, and leaves
# (its connection reset) before the answer; saying when each request is over.
SERVE_WITH_A_BROWSER_THAT_LEAVES = """
import socket, struct, sys
from pathlib import Path
from ihv_archive import serve

rebuild = serve.Rebuilder.rebuild

def with_a_browser_leaving(rebuilder, **options):
    browser = socket.create_connection(("127.0.0.1", rebuilder.port))
    browser.sendall(b"GET /news-archive/ HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")
    browser.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    browser.close()
    serve.Rebuilder.rebuild = rebuild
    return rebuild(rebuilder, **options)

serve.Rebuilder.rebuild = with_a_browser_leaving
over = serve.PreviewServer.shutdown_request  # after each request, and any error it printed

def said_when_over(server, request):
    over(server, request)
    print("a request is over", flush=True)

serve.PreviewServer.shutdown_request = said_when_over
"""


def test_a_browser_that_leaves_before_its_answer_shows_no_traceback(archive: Path) -> None:
    with serving_as(SERVE_WITH_A_BROWSER_THAT_LEAVES, archive) as running:
        assert running.get("/news-archive/")[0] == 200  # served after the one that left
        # Counted in the whole log: two threads' prints may share a line
        wait_for(lambda: "".join(running.log).count("a request is over") == 2, "both requests to be over")
        assert not any("Traceback" in line or "Error" in line for line in running.log), running.log


def test_closing_its_terminal_stops_it_as_ctrl_c_does(archive: Path) -> None:
    """Editors often stop `serve` by closing its terminal window: the system hangs up
    (SIGHUP). It stops as with Ctrl-C, and exits with 0 though its terminal is gone."""
    port = free_port()
    terminal, its_end = os.openpty()

    def own_terminal() -> None:  # as a window's shell has it: the terminal controls the session
        # and hang-ups are not ignored, even if the tests themselves run under nohup
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        os.setsid()
        fcntl.ioctl(its_end, termios.TIOCSCTTY, 0)

    process = subprocess.Popen(
        serve_command(archive, port=port),
        stdin=its_end,
        stdout=its_end,
        stderr=its_end,
        preexec_fn=own_terminal,
        cwd=archive,
    )
    os.close(its_end)
    shown = bytearray()

    def read_until(count: int, what: bytes) -> None:
        deadline = time.monotonic() + 30
        while shown.count(what) < count:
            assert time.monotonic() < deadline, f"never showed {what!r}: {bytes(shown)!r}"
            if select.select([terminal], [], [], 0.2)[0]:
                shown.extend(os.read(terminal, 4096))

    read_until(1, b"Serving http://")
    edit_summit(archive)
    read_until(2, b"Built ")
    os.close(terminal)  # the window closes
    assert process.wait(timeout=10) == 0


def test_under_nohup_a_hang_up_does_not_stop_it(archive: Path) -> None:
    """Run with `nohup`, which ignores SIGHUP so that a server outlives its terminal, it
    keeps that wish: a hang-up leaves it serving."""
    running = start(archive, under=("nohup",))
    try:
        running.process.send_signal(signal.SIGHUP)
        time.sleep(1)
        assert running.process.poll() is None
        assert running.get("/news-archive/")[0] == 200
    finally:
        running.process.send_signal(signal.SIGINT)
        running.process.wait(timeout=10)


def test_search_works_in_the_preview(server: Server) -> None:
    status, body = server.get("/news-archive/search/")
    bundle = re.search(r'data-bundle="([^"]+)"', body)
    assert status == 200 and bundle is not None
    assert server.get(bundle[1] + "pagefind-ui.js")[0] == 200
    assert server.get(bundle[1] + "pagefind-entry.json")[0] == 200


def test_resolve_stays_inside_the_folder_even_through_links(tmp_path: Path) -> None:
    root = tmp_path / "preview"
    (root / "posts").mkdir(parents=True)
    (root / "index.html").write_text("home")
    (tmp_path / "secret.txt").write_text("secret")
    (root / "posts" / "leak.txt").symlink_to(tmp_path / "secret.txt")
    assert resolve(root, "/news/", "/news/") == (root / "index.html").resolve()
    assert resolve(root, "/news/", "/news/posts") == "/news/posts/"
    assert resolve(root, "/news/", "/news/posts/leak.txt") is None
    assert resolve(root, "/news/", "/news/../secret.txt") is None
    assert resolve(root, "/news/", "/elsewhere/") is None


def test_injection_adds_the_banner_and_script_to_served_html_only() -> None:
    from ihv_archive.problems import Problem

    preview = Preview(
        generation=7, problems=(Problem("content/posts/x.md", 3, "date: <bad>", "use YYYY-MM-DD"),)
    )
    page = inject(b"<html><body class='a'><h1>Hi</h1></body></html>", "/news/", preview).decode()
    assert page.index('id="build-problems"') < page.index("<h1>Hi</h1>")
    assert "content/posts/x.md:3: date: &lt;bad&gt; (use YYYY-MM-DD)" in page
    assert 'EventSource("/news/__livereload?since=7")' in page
    assert page.rstrip().endswith("</body></html>")


def test_build_output_never_carries_the_preview_script_or_banner(built: Path) -> None:
    from .conftest import tree_bytes

    for path, content in tree_bytes(built).items():
        assert b"__livereload" not in content and b"build-problems" not in content, path


def raw_request(server: Server, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "localhost.evil.example:{port}", ""]
)
def test_only_requests_for_this_machine_are_answered(server: Server, host: str) -> None:
    """A page elsewhere cannot read the preview by rebinding its own name to 127.0.0.1."""
    header = f"Host: {host.format(port=server.port)}\r\n" if host else ""
    answer = raw_request(server, f"GET /news-archive/ HTTP/1.1\r\n{header}Connection: close\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.0 421") or answer.startswith(b"HTTP/1.1 421"), answer[:60]
    for good in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", f"[::1]:{server.port}"):
        answer = raw_request(
            server, f"GET /news-archive/ HTTP/1.1\r\nHost: {good}\r\nConnection: close\r\n\r\n".encode()
        )
        assert b" 200 " in answer.split(b"\r\n")[0], good


def test_a_path_segment_too_long_for_a_file_name_is_refused_quietly(server: Server) -> None:
    status, _ = server.get("/news-archive/" + "x" * 300 + "/")
    assert 400 <= status < 500
    assert server.get("/news-archive/")[0] == 200
    assert not any("Traceback" in line for line in server.log)


def test_a_browsers_burst_of_requests_is_answered(server: Server) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=100) as pool:
        statuses = list(pool.map(lambda _: server.get("/news-archive/")[0], range(100)))
    assert statuses == [200] * 100


def test_held_live_reload_connections_are_capped(server: Server) -> None:
    held = []
    try:
        for _ in range(80):
            connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            connection.sendall(
                f"GET /news-archive/__livereload?since=999999 HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
            )
            held.append(connection)
        answers = [connection.recv(200) for connection in held]
        assert sum(b" 200 " in a.split(b"\r\n")[0] for a in answers) <= 50
        assert any(b" 503 " in a.split(b"\r\n")[0] for a in answers)
        assert server.get("/news-archive/")[0] == 200  # pages are still served
    finally:
        for connection in held:
            connection.close()
