"""The CMS at admin/ (ihv_archive/admin.py and templates/admin/): its settings follow the post
contract and the tag vocabulary, and an editor drives it in headless Chromium against the
local backend (decap-server, which saves real files), the way they would on localhost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import frontmatter
import pytest
import yaml
from bs4 import BeautifulSoup

from ihv_archive.admin import repository
from ihv_archive.config import config_from_dict
from ihv_archive.content import KNOWN_KEYS, PRECISIONS, REQUIRED_KEYS
from ihv_archive.post_format import slug_from_title

from .conftest import PROJECT, browser_available, build_and_serve, run, wait_for

LOCAL_BACKEND = "http://localhost:8081/api/v1"  # where Decap CMS looks for decap-server
DECAP_SERVER = PROJECT / "node_modules/decap-server/dist/index.js"
# What the editor types: a list with a nested item, a footnote, a table, an escaped character.
BODY = """Health visitors told us three things:

- more time with families
- fewer forms
  - especially the *duplicate* ones
- training[^1]

| Region | Visits |
| --- | ---: |
| North | 1,204 |

Costs rose by 5\\* per cent.

![Visits by region](/images/2025/chart.png)

[^1]: iHV survey of 1,000 health visitors, 2025.
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A copy of the real project, with a picture, built into <its folder>/../docroot and
    served as GitHub Pages serves a project site, under /news-archive/: (folder, URL)."""
    root = tmp_path_factory.mktemp("cms") / "project"
    for name in ("content", "templates"):
        shutil.copytree(PROJECT / name, root / name)
    (root / "content/images/2025").mkdir(parents=True)
    shutil.copy(PROJECT / "templates/static/share.png", root / "content/images/2025/chart.png")
    settings = (PROJECT / "site.toml").read_text(encoding="utf-8")
    (root / "site.toml").write_text(settings + 'repository = "ihv/news-archive"\n', encoding="utf-8")
    for url in build_and_serve(root, root.parent, "news-archive"):
        yield root, url


def test_the_form_asks_for_what_the_contract_says_and_offers_every_tag(project: tuple[Path, str]) -> None:
    root, _ = project
    settings = yaml.safe_load((root.parent / "docroot/news-archive/admin/config.yml").read_text())
    (posts,) = settings["collections"]
    fields = {field["name"]: field for field in posts["fields"]}
    assert set(fields) - {"body"} <= set(KNOWN_KEYS)
    assert {name for name, field in fields.items() if field.get("required", True)} - {"body"} == set(
        REQUIRED_KEYS
    )
    assert fields["date_precision"]["options"] == list(PRECISIONS)
    vocabulary = tomllib.loads((PROJECT / "content/tags.toml").read_text())
    offered = {option["value"]: option["label"] for option in fields["tags"]["options"]}
    assert offered == {slug: tag["name"] for slug, tag in vocabulary.items()}
    assert fields["tags"]["multiple"] is True
    assert (posts["folder"], posts["path"], posts["extension"]) == (
        "content/posts",
        "{{year}}/{{slug}}",
        "md",
    )
    assert (settings["media_folder"], settings["public_folder"]) == ("content/images", "/images")
    assert settings["backend"]["repo"] == "ihv/news-archive"


def test_the_repository_comes_from_the_settings_or_the_pages_address() -> None:
    def of(**settings: str) -> str:
        return repository(config_from_dict({"title": "t", "description": "d", **settings}, Path(".")))

    assert of(base_url="https://ihv.github.io/news/") == "ihv/news"
    assert of(base_url="https://ihv.github.io/") == "ihv/ihv.github.io"
    assert of(base_url="https://news.ihv.org.uk/", repository="ihv/archive") == "ihv/archive"
    assert of(base_url="https://news.ihv.org.uk/") == ""


def test_with_an_oauth_worker_the_cms_signs_in_through_it(archive: Path) -> None:
    settings = archive / "site.toml"
    settings.write_text(settings.read_text() + 'cms_auth_url = "https://auth.example.workers.dev"\n')
    assert run(archive, "build", "--no-search") == 0
    backend = yaml.safe_load((archive / "site/admin/config.yml").read_text())["backend"]
    assert backend["base_url"] == "https://auth.example.workers.dev"
    assert "const OAUTH = true;" in (archive / "site/admin/cms.js").read_text()


def test_without_the_cms_installed_the_build_says_how_to_install_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ihv_archive.admin.TOOL_CHECKOUT", tmp_path / "elsewhere")
    (tmp_path / "site.toml").write_text('title = "t"\ndescription = "d"\nbase_url = "https://x.org/"\n')
    (tmp_path / "content/posts").mkdir(parents=True)
    (tmp_path / "content/tags.toml").write_text("")
    shutil.copytree(PROJECT / "templates", tmp_path / "templates")
    assert run(tmp_path, "build", "--no-search") == 1
    err = capsys.readouterr().err
    assert "node_modules: the CMS (decap-cms, markdown-it) is not installed" in err and "run: npm ci" in err
    assert not (tmp_path / "site").exists()


if not browser_available():
    pytest.skip("needs Debian's chromium and the playwright package", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect  # noqa: E402


def local_backend_answers() -> bool:
    request = urllib.request.Request(
        LOCAL_BACKEND, b'{"action":"info"}', {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


@pytest.fixture(scope="module")
def local_backend(project: tuple[Path, str]) -> Iterator[Path]:
    """decap-server saving into the project copy, as `npx decap-server` does for an editor."""
    root, _ = project
    assert not local_backend_answers(), "something else answers on port 8081"
    server = subprocess.Popen(
        ["node", str(DECAP_SERVER)],
        cwd=root,
        env={**os.environ, "PORT": "8081", "GIT_REPO_DIRECTORY": str(root)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(local_backend_answers, "decap-server to answer")
        yield root
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def editor(browser: Browser) -> Iterator[Page]:
    # The CMS is 6 MB of script: on a busy machine a step may take seconds (only a failure waits)
    expect.set_options(timeout=30_000)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()
    expect.set_options(timeout=5_000)  # Playwright's default, for the other modules


def sign_in_locally(editor: Page, url: str) -> None:
    editor.goto(url)
    editor.get_by_role("button", name="Login").click()


def publish(editor: Page) -> None:
    editor.get_by_role("button", name="Publish").click()
    editor.get_by_text("Publish now").click()
    expect(editor.get_by_text("Changes saved")).to_be_visible()


def assert_only_the_summary_changes(editor: Page, file: Path) -> None:
    """The open post saved with a sentence added to its summary: its text and every other key
    (provenance, dates, tags) are as they were."""
    before = frontmatter.loads(file.read_text(encoding="utf-8"))
    editor.get_by_label("Summary").fill(before["summary"] + " Edited.")
    publish(editor)
    after = wait_for(
        lambda: (
            (p := frontmatter.loads(file.read_text(encoding="utf-8")))["summary"].endswith("Edited.") and p
        ),
        "the save",
    )
    assert after.content == before.content
    assert {**after.metadata, "summary": before["summary"]} == before.metadata


def test_an_editor_writes_a_post_in_the_cms_and_the_builder_publishes_it(
    editor: Page, project: tuple[Path, str], local_backend: Path
) -> None:
    root, url = project
    posts_before = set((root / "content/posts").rglob("*.md"))
    sign_in_locally(editor, url + "admin/")
    editor.get_by_role("link", name="Create entry of type News post").click()
    editor.get_by_label("Title").fill("Health visitors describe the support families need in 2025")
    editor.get_by_label("Date", exact=True).fill("2025-03-04")
    for tag in ("Workforce", "Reports"):
        editor.get_by_label("Topics").click()
        editor.keyboard.type(tag)
        editor.keyboard.press("Enter")
    summary = 'A survey says what "support" means: time, fewer forms and training.'
    editor.get_by_label("Summary").fill(summary)
    editor.get_by_role("textbox").last.click()
    editor.keyboard.insert_text(BODY)
    # The preview is drawn with the site's own stylesheet
    preview = editor.frame_locator("iframe").first
    expect(preview.locator("h1")).to_have_text("Health visitors describe the support families need in 2025")
    # … and its Markdown read as the build reads it: the footnote and the table as on the page
    expect(preview.locator(".body .footnotes")).to_contain_text("iHV survey of 1,000 health visitors")
    expect(preview.locator(".body table td").nth(1)).to_have_text("1,204")
    expect(preview.locator(".body img")).to_have_attribute("src", "/news-archive/images/2025/chart.png")
    assert url + "static/style.css" in preview.locator("link[rel=stylesheet]").evaluate_all(
        "links => links.map(l => l.href)"
    )
    publish(editor)

    (saved,) = wait_for(lambda: set((root / "content/posts").rglob("*.md")) - posts_before, "the file")
    assert saved.parent == root / "content/posts/2025"
    assert saved.stem == slug_from_title("Health visitors describe the support families need in 2025")
    post = frontmatter.loads(saved.read_text(encoding="utf-8"))
    assert post["title"] == "Health visitors describe the support families need in 2025"
    assert str(post["date"]) == "2025-03-04"
    assert post["tags"] == ["workforce", "reports"]
    assert post["summary"] == summary
    assert post.content.strip() == BODY.strip()

    assert run(root, "check") == 0
    assert run(root, "build", "--no-search", "--base-url", url) == 0
    page = BeautifulSoup((root / "site/posts/2025" / saved.stem / "index.html").read_text(), "html.parser")
    body = page.select_one(".body")
    assert body is not None
    assert body.select("ul ul li")[0].get_text() == "especially the duplicate ones"
    assert body.select_one("table td") and body.select("table td")[1].get_text() == "1,204"
    assert "iHV survey of 1,000 health visitors" in body.select_one(".footnotes").get_text()
    assert "5* per cent" in body.get_text()
    assert body.select_one("img")["src"] == "/news-archive/images/2025/chart.png"  # as in the preview

    # Opened again and saved with another summary: the body and the rest stay as they were
    editor.goto(url + f"admin/#/collections/posts/entries/2025/{saved.stem}")
    expect(editor.get_by_label("Summary")).to_have_value(summary)
    assert_only_the_summary_changes(editor, saved)


def test_an_imported_post_saved_in_the_cms_keeps_its_provenance_and_text(
    editor: Page, project: tuple[Path, str], local_backend: Path
) -> None:
    root, url = project
    file = root / "content/posts/2020/40-charities-call-urgent-attention.md"
    before = frontmatter.loads(file.read_text(encoding="utf-8"))
    assert "[^1]" in before.content and before["sources"]
    sign_in_locally(editor, url + "admin/#/collections/posts/entries/2020/40-charities-call-urgent-attention")
    assert_only_the_summary_changes(editor, file)
    assert run(root, "check") == 0


def test_the_cms_makes_a_new_posts_address_as_new_does(editor: Page, project: tuple[Path, str]) -> None:
    root, url = project
    editor.route(LOCAL_BACKEND, lambda route: route.abort())
    editor.goto(url + "admin/")
    titles = [
        frontmatter.loads(p.read_text(encoding="utf-8"))["title"] for p in root.glob("content/posts/*/*.md")
    ]
    titles += [
        "Café culture: the “new” health visitor’s day — in 2025",
        "iHV's response to the NHS 10-Year Plan & what it means for 1,000 families",
        "What’s next?",
        "A",
    ]
    made = editor.evaluate("titles => titles.map(slugFromTitle)", titles)
    assert made == [slug_from_title(title) for title in titles]


def test_the_editing_page_loads_nothing_from_another_host_and_signs_in_with_a_token(
    editor: Page, project: tuple[Path, str]
) -> None:
    """GitHub itself cannot be reached from here: the test answers as GitHub's API does (its
    documented replies for a repository), and checks what the page and the CMS ask of it."""
    _, url = project
    asked: list[str] = []
    editor.on("request", lambda request: asked.append(request.url))

    def answer_as_github(route: Any) -> None:
        good = route.request.headers.get("authorization") == "token github_pat_good"
        if good and route.request.url == "https://api.github.com/repos/ihv/news-archive":
            body = {"full_name": "ihv/news-archive", "permissions": {"pull": True, "push": True}}
            route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
        else:
            route.fulfill(status=401, content_type="application/json", body='{"message": "Bad credentials"}')

    editor.route(LOCAL_BACKEND, lambda route: route.abort())  # no local backend: the real sign-in
    editor.route("https://api.github.com/**", answer_as_github)
    editor.goto(url + "admin/")
    expect(editor.get_by_role("heading", name="Edit the news")).to_be_visible()
    expect(editor.get_by_text("ihv/news-archive")).to_be_visible()
    editor.add_script_tag(path=str(PROJECT / "node_modules/axe-core/axe.min.js"))
    found = editor.evaluate(
        "axe.run('#sign-in', {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']})"
    )
    assert [violation["id"] for violation in found["violations"]] == []

    editor.get_by_label("GitHub token").fill("github_pat_mistyped")
    editor.get_by_role("button", name="Sign in").click()
    expect(editor.get_by_role("alert")).to_contain_text(
        "GitHub did not accept this token for ihv/news-archive"
    )
    assert editor.evaluate("localStorage.getItem('decap-cms-user')") is None

    editor.get_by_label("GitHub token").fill("github_pat_good")
    with editor.expect_request("https://api.github.com/user") as asked_who:
        editor.get_by_role("button", name="Sign in").click()
    assert asked_who.value.headers["authorization"] == "token github_pat_good"
    scripts = [u for u in asked if u.endswith(".js")]
    assert url + "admin/decap-cms.js" in scripts and all(u.startswith(url) for u in scripts)
    assert {urlsplit(u).netloc for u in asked} <= {urlsplit(url).netloc, "localhost:8081", "api.github.com"}
