"""The website the way a student uses it: every page of the table of contents, opened in
headless Chromium from the site that `make book` builds, served on localhost.

One browser and one context for the whole session; each page is visited once, and everything
checked about a page is collected during that visit (see `_visit`). The tests below then read
the record, one test per page and concern, so a failure names the page and what is wrong.
Pages come from _toc.yml, never from a list written here, so the tests follow the book as
chapters and exercises are added.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from tests.browser.site import (
    AXE,
    DESKTOP,
    PHONE,
    ROOT,
    chromium,
    chromium_missing_reason,
    serve,
    toc_docs,
    wait_for_math,
)
from tests.test_site import solution_leaks

pytestmark = pytest.mark.slow

# To test another build (say one made with --path-output while others use _build/), set
# RNN_BROWSER_HTML to its html folder and RNN_BROWSER_TOC to the toc it was built from.
OTHER_HTML = os.environ.get("RNN_BROWSER_HTML")
DOCS = toc_docs(Path(os.environ.get("RNN_BROWSER_TOC", ROOT / "_toc.yml")))
CHAPTER = re.compile(r"^book/ch(\d\d)_")
BPTT_DOC = "book/ch04_bptt"
# The pages the course promises besides its chapters (issue: pages and navigation).
REQUIRED_DOCS = ["book/intro", "book/how_to_use", "book/instructors", "book/glossary",
                 "book/bibliography"]
# axe-core impacts that fail a page; "moderate" and "minor" are reported, not failed.
BLOCKING_IMPACTS = ("serious", "critical")

# Everything about a page that can only be seen in a browser, gathered in one evaluate().
PROBE_JS = r"""
() => {
  const skip = 'pre, code, script, style, textarea, mjx-container, .MathJax, .highlight';
  // Text a reader sees, outside code and typeset math: raw TeX left there was not typeset.
  const rawTex = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest(skip)) continue;
    const text = node.textContent;
    const hit = text.match(/\$[^$\s][^$]*\$|\\(begin|end)\{|\\[a-zA-Z]{2,}|\\\(|\\\[/);
    if (hit) rawTex.push(text.trim().slice(0, 120));
  }
  const main = document.querySelector('main') || document.body;
  const images = Array.from(main.querySelectorAll('img')).map(img => ({
    src: img.currentSrc || img.src,
    id: img.id,
    alt: img.getAttribute('alt'),
    loaded: img.complete && img.naturalWidth > 0,
  }));
  const links = Array.from(document.querySelectorAll('a[href]')).map(a => a.href);
  const href = sel => { const a = document.querySelector(sel); return a ? a.href : null; };
  return {
    // The page's own title (the theme repeats it, unnumbered, in a print-only header).
    title: (Array.from(main.querySelectorAll('h1')).find(h => !h.closest('.onlyprint')) || {}).textContent || '',
    headings: Array.from(main.querySelectorAll('h1, h2, h3')).map(h => h.textContent.trim()),
    text: main.innerText,
    mathErrors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
    mathSpans: document.querySelectorAll('main .math').length,
    typeset: document.querySelectorAll('main mjx-container').length,
    rawTex,
    images,
    links,
    prev: href('a.left-prev'),
    next: href('a.right-next'),
    downloadSource: href('a.btn-download-source-button'),
    downloadNotebook: href('a.btn-download-notebook-button'),
    launch: Array.from(document.querySelectorAll('.dropdown-launch-buttons a')).map(a => a.href),
    animations: document.querySelectorAll('main .animation').length,
  };
}
"""

# matplotlib's to_jshtml: an <img id="_anim_imgID">, a slider and a global `animID` object
# whose `frames` are Image objects. Play it and report what a reader would see.
ANIMATION_JS = r"""
async () => {
  const out = [];
  for (const div of document.querySelectorAll('main .animation')) {
    const img = div.querySelector('img[id^="_anim_img"]');
    if (!img) { out.push({error: 'no frame image'}); continue; }
    const anim = window['anim' + img.id.slice('_anim_img'.length)];
    if (!anim) { out.push({id: img.id, error: 'animation script did not run'}); continue; }
    await Promise.all(anim.frames.map(f => f.decode().catch(() => null)));
    const frames = anim.frames.length;
    const broken = anim.frames.filter(f => !(f.complete && f.naturalWidth > 0)).length;
    const before = img.src;
    const slider = div.querySelector('input[type=range]');
    const start = slider ? Number(slider.value) : 0;
    anim.play_animation();
    await new Promise(r => setTimeout(r, Math.min(2000, 3 * anim.interval + 100)));
    anim.pause_animation();
    out.push({id: img.id, frames, broken, alt: img.getAttribute('alt'),
              advanced: img.src !== before && (!slider || Number(slider.value) !== start)});
  }
  return out;
}
"""

# At phone width the page itself must not scroll sideways; code blocks, tables and display
# math may scroll inside their own box. Report the elements that stick out.
OVERFLOW_JS = r"""
() => {
  const doc = document.documentElement;
  const width = doc.clientWidth;
  const overflow = Math.max(doc.scrollWidth, document.body.scrollWidth) - width;
  const culprits = [];
  if (overflow > 0) {
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= width + 1) continue;
      let clipped = false;
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const ox = getComputedStyle(a).overflowX;
        if (ox !== 'visible' && a.getBoundingClientRect().right <= width + 1) { clipped = true; break; }
      }
      if (!clipped) culprits.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '') +
        ` (right edge ${Math.round(r.right)}px)`);
      if (culprits.length >= 5) break;
    }
  }
  return {overflow, culprits};
}
"""

AXE_JS = r"""
async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary.split('\n').slice(1, 2).join('')),
    count: v.nodes.length,
  }));
}
"""


@dataclass
class Visit:
    """What a student's browser saw on one page."""

    doc: str
    url: str
    status: int | None = None
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    probe: dict = field(default_factory=dict)
    animations: list[dict] = field(default_factory=list)
    phone: dict = field(default_factory=dict)
    axe: list[dict] = field(default_factory=list)
    downloads: dict[str, bytes] = field(default_factory=dict)
    html: str = ""


class Site:
    """The served site and the one browser context; visits each page once, on demand."""

    def __init__(self, html_dir: Path, base: str, context):
        self.html_dir, self.base, self.context = html_dir, base, context
        self.visits: dict[str, Visit] = {}
        self.axe_source = AXE.read_text()

    def url(self, doc: str) -> str:
        return urljoin(self.base, doc + ".html")

    def visit(self, doc: str) -> Visit:
        if doc not in self.visits:
            self.visits[doc] = self._visit(doc)
        return self.visits[doc]

    def _visit(self, doc: str) -> Visit:
        v = Visit(doc, self.url(doc))
        page = self.context.new_page()
        page.set_viewport_size(DESKTOP)
        page.on("console", lambda m: m.type == "error" and v.console_errors.append(
            f"{m.text} ({m.location.get('url', '')}:{m.location.get('lineNumber', '')})"))
        page.on("pageerror", lambda e: v.console_errors.append(f"uncaught: {e}"))
        page.on("requestfailed", lambda r: v.failed_requests.append(f"{r.url}: {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and v.failed_requests.append(
            f"{r.url}: HTTP {r.status}"))
        try:
            response = page.goto(v.url, wait_until="load")
            v.status = response.status if response else None
            wait_for_math(page)
            try:
                page.wait_for_load_state("networkidle", timeout=10_000)
            except Exception:  # playwright's TimeoutError: a request that never finishes
                v.failed_requests.append("the page was still loading after 10 s")
            v.html = page.content()
            v.probe = page.evaluate(PROBE_JS)
            if v.probe["animations"]:
                v.animations = page.evaluate(ANIMATION_JS)
            page.set_viewport_size(PHONE)
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))")
            v.phone = page.evaluate(OVERFLOW_JS)
            page.set_viewport_size(DESKTOP)
            page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))")
            page.add_script_tag(content=self.axe_source)
            v.axe = page.evaluate(AXE_JS)
            # The files behind the download button, fetched as the browser fetches them.
            for key in ("downloadSource", "downloadNotebook"):
                if v.probe.get(key):
                    v.downloads[key] = self.context.request.get(v.probe[key]).body()
        finally:
            page.close()
        return v

    def local_file(self, url: str) -> Path | None:
        """The built file a same-origin URL serves, or None for other origins."""
        parts = urlsplit(url)
        if not url.startswith(self.base):
            return None
        path = self.html_dir / unquote(parts.path).lstrip("/")
        return path / "index.html" if path.is_dir() else path


# Closed with this module: an open sync playwright keeps its asyncio loop "running", and
# later modules that start their own browser (formgrader, JupyterLab) would be refused.
@pytest.fixture(scope="module")
def site(request):
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(f"browser tests need Chromium and playwright: {reason}")
    if not AXE.is_file():
        pytest.fail(f"axe-core not found at {AXE} (npm install --prefix .venv/axe axe-core@4.14.1)")
    html = Path(OTHER_HTML) if OTHER_HTML else request.getfixturevalue("built_site")
    with serve(html) as base, chromium() as browser:
        context = browser.new_context(viewport=DESKTOP)
        try:
            yield Site(html, base, context)
        finally:
            context.close()


def _is_notebook_page(doc: str) -> bool:
    """An .ipynb page, or a MyST-NB text notebook (a .md with a kernelspec)."""
    if (ROOT / f"{doc}.ipynb").is_file():
        return True
    md = ROOT / f"{doc}.md"
    return md.is_file() and "kernelspec:" in md.read_text().split("\n---", 1)[0]


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("id", "name") and value:
                self.ids.add(value)


_ID_CACHE: dict[Path, set[str]] = {}


def _anchors(path: Path) -> set[str]:
    if path not in _ID_CACHE:
        parser = _Ids()
        parser.feed(path.read_text(errors="ignore"))
        _ID_CACHE[path] = parser.ids
    return _ID_CACHE[path]


# ---------------------------------------------------------------------------------------------
# The table of contents and navigation


def test_toc_has_the_pages_the_course_promises():
    assert DOCS[0] == "book/intro", "the landing page (book/intro) must be the toc's root"
    missing = [d for d in REQUIRED_DOCS if d not in DOCS]
    assert not missing, f"pages missing from _toc.yml: {missing}"
    assert not [d for d in DOCS if d.startswith("solutions/")], "a solution is in the toc"


def test_landing_page_says_what_who_and_how_to_start(site):
    v = site.visit(DOCS[0])
    headings = " | ".join(v.probe["headings"]).lower()
    for words in ("learn", "who", "start"):
        assert words in headings, f"the landing page has no section about '{words}': {headings}"
    text = v.probe["text"].lower()
    for words in ("calculus", "linear algebra", "python"):  # the prerequisites
        assert words in text, f"the landing page does not state the prerequisite '{words}'"
    assert any(link.endswith("book/how_to_use.html") for link in v.probe["links"])


def test_how_to_use_explains_getting_running_and_checking_a_notebook(site):
    if "book/how_to_use" not in DOCS:
        pytest.fail("book/how_to_use is not in the toc")
    text = site.visit("book/how_to_use").probe["text"].lower()
    for words in ("download", "colab", "binder", "test cell"):
        assert words in text, f"'How to use this course' never mentions '{words}'"


def test_glossary_and_references_have_entries(site):
    glossary = site.visit("book/glossary").html
    assert re.search(r'<dl class="[^"]*glossary', glossary) and glossary.count("<dt") >= 5, (
        "the glossary page has no glossary list with at least 5 terms")
    refs = site.visit("book/bibliography").html
    assert refs.count('class="citation') or refs.count('role="doc-biblioentry"') or refs.count(
        'class="label"'), "the references page lists no bibliography entries"


def test_chapters_are_numbered_in_reading_order(site):
    chapters = [d for d in DOCS if CHAPTER.match(d)]
    numbers = [int(CHAPTER.match(d).group(1)) for d in chapters]
    assert numbers == sorted(numbers), f"chapters out of order in the toc: {chapters}"
    for doc, number in zip(chapters, numbers):
        title = site.visit(doc).probe["title"].strip()
        assert title.startswith(f"{number}."), f"{doc}: title {title!r} is not numbered {number}."
        assert not re.match(r"\d+\.\s*\d+\.", title), f"{doc}: numbered twice: {title!r}"


def test_previous_and_next_links_follow_the_table_of_contents(site):
    for before, after in zip(DOCS, DOCS[1:]):
        nxt = site.visit(before).probe["next"]
        prev = site.visit(after).probe["prev"]
        assert nxt and nxt.split("#")[0] == site.url(after), f"{before}: next is {nxt}, not {after}"
        assert prev and prev.split("#")[0] == site.url(before), f"{after}: prev is {prev}, not {before}"


# ---------------------------------------------------------------------------------------------
# Every page, as it loads


@pytest.mark.parametrize("doc", DOCS)
def test_page_loads_without_console_errors_or_failed_requests(site, doc):
    v = site.visit(doc)
    assert v.status == 200, f"{doc}: HTTP {v.status}"
    assert not v.console_errors, f"{doc}: console errors:\n" + "\n".join(v.console_errors)
    assert not v.failed_requests, f"{doc}: failed requests:\n" + "\n".join(v.failed_requests)


@pytest.mark.parametrize("doc", DOCS)
def test_math_is_typeset(site, doc):
    p = site.visit(doc).probe
    assert not p["rawTex"], f"{doc}: raw TeX visible to the reader:\n" + "\n".join(p["rawTex"][:10])
    assert p["mathErrors"] == 0, f"{doc}: MathJax shows {p['mathErrors']} formula error(s)"
    if p["mathSpans"]:
        assert p["typeset"] > 0, f"{doc}: {p['mathSpans']} formulas but none typeset by MathJax"


@pytest.mark.parametrize("doc", DOCS)
def test_figures_load_and_have_alt_text(site, doc):
    v = site.visit(doc)
    broken = [i["src"][:100] for i in v.probe["images"] if not i["loaded"]]
    assert not broken, f"{doc}: images that did not load: {broken}"
    no_alt = [i["id"] or i["src"][:100] for i in v.probe["images"] if not (i["alt"] or "").strip()]
    assert not no_alt, f"{doc}: images without alt text: {no_alt}"


@pytest.mark.parametrize("doc", DOCS)
def test_animations_play(site, doc):
    v = site.visit(doc)
    if not v.probe["animations"]:
        pytest.skip(f"{doc} has no animation")
    assert len(v.animations) == v.probe["animations"]
    for anim in v.animations:
        assert "error" not in anim, f"{doc}: {anim}"
        assert anim["frames"] >= 2 and anim["broken"] == 0, f"{doc}: frames missing: {anim}"
        assert anim["advanced"], f"{doc}: pressing play did not advance the frames: {anim}"


def test_chapter_2_animation_plays(site):
    """The issue names one: chapter 2's matplotlib to_jshtml animation."""
    ch02 = [d for d in DOCS if d.startswith("book/ch02_")]
    if not ch02:
        pytest.skip("chapter 2 is not in the toc yet")
    v = site.visit(ch02[0])
    assert v.animations and all(a.get("advanced") for a in v.animations), v.animations


@pytest.mark.parametrize("doc", DOCS)
def test_phone_width_has_no_horizontal_scroll(site, doc):
    phone = site.visit(doc).phone
    assert phone["overflow"] <= 0, (
        f"{doc}: at {PHONE['width']}px the page scrolls sideways by {phone['overflow']}px; "
        f"sticking out: {phone['culprits']}"
    )


@pytest.mark.parametrize("doc", DOCS)
def test_no_serious_accessibility_violations(site, doc):
    bad = [v for v in site.visit(doc).axe if v["impact"] in BLOCKING_IMPACTS]
    assert not bad, f"{doc}: axe-core violations:\n" + "\n".join(
        f"- {v['id']} ({v['impact']}, {v['count']} nodes): {v['help']}\n    " + "\n    ".join(v["nodes"])
        for v in bad
    )


@pytest.mark.parametrize("doc", DOCS)
def test_internal_links_and_anchors_resolve(site, doc):
    broken = []
    for link in sorted(set(site.visit(doc).probe["links"])):
        path = site.local_file(link)
        if path is None:
            continue  # other origins: launch buttons, citations' DOIs (not fetched offline)
        if not path.is_file():
            broken.append(f"{link}: no such file")
            continue
        fragment = unquote(urlsplit(link).fragment)
        if fragment and path.suffix == ".html" and fragment not in _anchors(path):
            broken.append(f"{link}: no anchor #{fragment}")
    assert not broken, f"{doc}: broken links:\n" + "\n".join(broken)


# ---------------------------------------------------------------------------------------------
# Downloads and solutions


@pytest.mark.parametrize("doc", DOCS)
def test_page_and_its_download_contain_no_solution(site, doc):
    v = site.visit(doc)
    texts = {"page": v.html, **{k: b.decode(errors="ignore") for k, b in v.downloads.items()}}
    leaks = [f"{where}: {leak}" for where, text in texts.items() for leak in solution_leaks(text)]
    assert not leaks, f"{doc}: solution code or hidden tests:\n" + "\n".join(leaks[:10])


@pytest.mark.parametrize("doc", [d for d in DOCS if _is_notebook_page(d)])
def test_notebook_page_has_a_notebook_download_button(site, doc):
    v = site.visit(doc)
    key = "downloadSource" if doc.startswith("exercises/") else "downloadNotebook"
    href = v.probe.get(key)
    assert href and href.endswith(f"_sources/{doc}.ipynb"), f"{doc}: no .ipynb download ({href})"
    nb = json.loads(v.downloads[key])
    assert nb.get("nbformat") == 4 and nb["cells"], f"{doc}: the download is not a notebook"


@pytest.mark.parametrize("doc", [d for d in DOCS if d.startswith("exercises/")])
def test_exercise_page_downloads_the_student_notebook(site, doc):
    nb = json.loads(site.visit(doc).downloads["downloadSource"])
    student = json.loads((ROOT / f"{doc}.ipynb").read_text())
    assert nb["cells"] == student["cells"], f"{doc}: the download is not exercises/{doc}.ipynb"
    sources = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert any("raise NotImplementedError" in s for s in sources), (
        f"{doc}: the download has no exercise left to solve")


def test_launch_buttons_are_documented_in_the_config():
    config = (ROOT / "_config.yml").read_text()
    assert re.search(r"#.*[Ll]aunch buttons.*\n(#.*\n)*repository:\s*\n\s+url:", config), (
        "_config.yml should say, above `repository: url:`, that launch buttons need the URL")


# ---------------------------------------------------------------------------------------------
# Search


def _search(site, query: str) -> list[str]:
    """Type `query` into the site's search box as a student would; return the result links."""
    page = site.context.new_page()
    try:
        page.goto(site.url(DOCS[0]), wait_until="load")
        page.keyboard.press("Control+k")  # the theme's search shortcut opens the search dialog
        box = page.locator("input[name=q]:visible").first
        box.fill(query)
        box.press("Enter")
        page.wait_for_url(re.compile(r"search\.html"))
        page.wait_for_function(
            "() => { const s = document.querySelector('#search-results .search-summary, "
            "p.search-summary'); return s && s.textContent.trim().length > 0; }",
            timeout=30_000,
        )
        return page.eval_on_selector_all("#search-results ul.search li a", "as => as.map(a => a.href)")
    finally:
        page.close()


def test_search_finds_a_glossary_term(site):
    """The search machinery works on any build: the glossary's first term is findable."""
    hits = _search(site, "glossary")
    assert any(h.split("#")[0] == site.url("book/glossary") for h in hits), hits


def test_search_for_backpropagation_lands_on_the_bptt_chapter(site):
    if BPTT_DOC not in DOCS:
        pytest.skip(f"{BPTT_DOC} is not in the toc yet")
    hits = _search(site, "backpropagation")
    pages = [h.split("#")[0] for h in hits]
    assert site.url(BPTT_DOC) in pages[:3], f"search for 'backpropagation' gave {pages[:5]}"
