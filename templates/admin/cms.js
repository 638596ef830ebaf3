// The editing page: sign in with a token (or straight in, with an OAuth worker or the local
// backend), then Decap CMS with a post's slug made as `build.py new` makes it, and a preview
// in the site's own stylesheet.
"use strict";

const SLUG = {{ slug_rules|tojson }};
const STOPWORDS = new Set(SLUG.stopwords);
const PHRASE_ENDS_BEFORE = new Set(SLUG.phraseEndsBefore);
const DANGLING = new Set(SLUG.dangling);
const USER_KEY = "decap-cms-user"; // where Decap CMS keeps who is signed in
const REPOSITORY = {{ repository|tojson }};
const OAUTH = {{ (site.cms_auth_url != "")|tojson }}; // an OAuth worker: Decap's own "Login with GitHub"
const WORD = /[\p{L}\p{N}_]/u;

// python-slugify's steps, as ihv_archive/post_format.py uses them (a test compares the two).
function slugWords(token) {
  const text = token
    .replace(/'+/g, "-")
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .replace(/[‘’]/g, "")
    .toLowerCase()
    .replace(/(\d),(\d)/g, "$1$2")
    .replace(/[^a-z0-9]+/g, "-");
  return text.split("-").filter((word) => word && !STOPWORDS.has(word));
}

// "Ofsted reports a rise in harm to babies during the pandemic" -> "ofsted-reports-rise":
// about six words, ending where a phrase ends.
function slugFromTitle(title) {
  const words = [];
  const ends = new Set();
  const cleaned = title.replace(/[£\x00-\x1f\x7f-\x9f\u2028\u2029]/g, " ");
  for (const [token] of cleaned.matchAll(/[\p{L}\p{N}_’'&-]+|[^\p{L}\p{N}_\s]/gu)) {
    if (!WORD.test(token) || PHRASE_ENDS_BEFORE.has(token.toLowerCase())) ends.add(words.length);
    else words.push(...slugWords(token));
  }
  ends.add(words.length);
  const within = [...ends].filter((n) => n >= 3 && n <= SLUG.words);
  const beyond = [...ends].filter((n) => n > SLUG.words && n <= SLUG.words + 2);
  const length = within.length ? Math.max(...within) : beyond.length ? Math.min(...beyond) : SLUG.words;
  const chosen = words.slice(0, length);
  while (chosen.length > 1 && DANGLING.has(chosen[chosen.length - 1])) chosen.pop();
  return chosen.join("-");
}

// Markdown read as ihv_archive/markdown.py reads it (markdown-it-py is a port of markdown-it).
const MARKDOWN = markdownit("commonmark", { html: {{ site.allow_html|tojson }}, linkify: true })
  .enable(["table", "strikethrough", "linkify"])
  .use(markdownitFootnote);

// Links and pictures from the site's root ("/images/…") live under its base path, as the build writes them.
const BASE_PATH = {{ urls.base_path|tojson }};
const under = (html) => html.replace(/(src|href)="\/(?!\/)/g, `$1="${BASE_PATH}`);

function PostPreview({ entry }) {
  const data = entry.get("data");
  const date = data.get("date");
  return h("main", { id: "main" },
    h("article", { className: "post" },
      h("header", {},
        h("h1", {}, data.get("title")),
        h("p", { className: "meta" }, date ? new Date(date).toLocaleDateString("en-GB", { dateStyle: "long" }) : ""),
      ),
      h("div", { className: "body", dangerouslySetInnerHTML: { __html: under(MARKDOWN.render(data.get("body") || "")) } }),
    ),
  );
}

function startCms() {
  window.CMS_MANUAL_INIT = true;
  const script = document.createElement("script");
  script.src = "decap-cms.js";
  script.onload = () => {
    CMS.registerPreviewStyle({{ href(urls.STATIC + 'style.css')|tojson }});
    CMS.registerPreviewTemplate("posts", PostPreview);
    // A new post's file name comes from its title; an existing post keeps its own.
    CMS.registerEventListener({
      name: "preSave",
      handler: ({ entry }) => {
        if (!entry.get("newRecord")) return entry.get("data");
        const slug = slugFromTitle(entry.getIn(["data", "title"]));
        if (!slug) throw new Error("no web address can be made from this title: add a word in plain letters");
        return entry.get("data").set("slug", slug);
      },
    });
    CMS.init();
  };
  document.body.append(script);
}

async function localBackendAnswers() {
  if (!["localhost", "127.0.0.1"].includes(location.hostname)) return false;
  try {
    const answer = await fetch("http://localhost:8081/api/v1", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: '{"action":"info"}',
    });
    return answer.ok;
  } catch {
    return false;
  }
}

// What is wrong with a token, in words an editor can act on; null if it may save posts.
async function tokenProblem(token) {
  let answer;
  try {
    answer = await fetch(`https://api.github.com/repos/${REPOSITORY}`, { headers: { Authorization: `token ${token}` } });
  } catch {
    return "GitHub could not be reached. Check the internet connection, then sign in again.";
  }
  const repository = answer.ok ? await answer.json() : null;
  if (repository?.permissions?.push) return null;
  return `GitHub did not accept this token for ${REPOSITORY}. It may be mistyped or expired, or not allowed
    to change this repository's contents: make a new one as EDITING.md says, then sign in with it.`;
}

(async () => {
  const signIn = document.getElementById("sign-in");
  const form = document.getElementById("token-form");
  const problem = document.getElementById("token-problem");
  const show = (message) => {
    signIn.hidden = false;
    if (problem) [problem.textContent, problem.hidden] = [message || "", !message];
  };
  const start = () => {
    signIn.remove();
    startCms();
  };
  if (OAUTH || (await localBackendAnswers())) return start();
  if (!REPOSITORY) return show(); // the page says what a maintainer must set
  const stored = JSON.parse(localStorage.getItem(USER_KEY) || "null");
  if (stored?.token) {
    const wrong = await tokenProblem(stored.token);
    if (!wrong) return start();
    localStorage.removeItem(USER_KEY);
    show(wrong);
  } else show();
  form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = form.token.value.trim();
    const wrong = await tokenProblem(token);
    if (wrong) return show(wrong);
    localStorage.setItem(USER_KEY, JSON.stringify({ backendName: "github", token }));
    start();
  });
})();
