"""Sphinx extension: make the site load cleanly and pass axe-core's serious/critical rules.

Each fix below answers one failure that tests/test_browser.py found in headless Chromium, and
each is as narrow as the markup that causes it (the theme's templates are not forked):

* sphinx-thebe registers its inline config script twice (``const THEBE_JS_URL`` declared twice
  is an uncaught SyntaxError on every page): duplicate scripts are dropped per page.
* matplotlib's ``to_jshtml`` animations link Font Awesome 4 from a CDN (a failed request
  offline; the theme's own Font Awesome already draws the ``fa-*`` icons), give the frame image
  no ``alt`` and the frame slider no label. The image gets the alt text the cell declares
  (``mystnb: image: alt:``) and the slider a label.
* Theme and myst-nb controls whose ``aria-label`` hides their visible text
  (axe ``label-content-name-mismatch``): the search button ("Search Ctrl+K"), the code-cell
  toggles ("Show code cell source"), and the colour-mode button, whose icons carry tooltips
  that read as text. The sidebar's expand/collapse ``<summary>`` has no name at all
  (``summary-name``). Docutils' bibliography list says ``role="list"`` around entries that are
  not list items (``aria-required-children``).
"""
from __future__ import annotations

import re
from html import escape
from pathlib import Path

from docutils import nodes

_THEBE_CONFIG = re.compile(r'<script>const THEBE_JS_URL = [^<]*</script>\s*')
_CDN_FONT_AWESOME = re.compile(r'<link[^>]*href="https://[^"]*font-awesome[^"]*"[^>]*>\s*')
_ANIM_IMG = re.compile(r'<img(?![^>]*\balt=)([^>]*\bid="_anim_img[0-9a-f]+")')
_ANIM_SLIDER = re.compile(r'<input(?![^>]*\baria-label=)([^>]*\bid="_anim_slider[0-9a-f]+")')

# (pattern, replacement) applied to every written page.
_PAGE_FIXES = [
    # search button: its visible text ("Search", Ctrl+K) is its name.
    (re.compile(r'(<button class="btn search-button-field[^"]*"[^>]*?) aria-label="Search"'), r"\1"),
    # myst-nb hide-input toggles: "Show code cell source" is the name.
    (re.compile(r'<summary aria-label="Toggle hidden content">'), "<summary>"),
    # colour-mode button: its icons' tooltips would be read as its text; the label says it.
    (re.compile(r'(<i class="theme-switch [^"]*" data-mode="\w+")\s+title="[^"]*"'), r"\1"),
    # sidebar: the chevron that opens a chapter's sections gets a name.
    (re.compile(r'<summary>(<span class="toctree-toggle" role="presentation">)'),
     r'<summary aria-label="Show or hide sections">\1'),
    # bibliography: citations are not list items.
    (re.compile(r'<div role="list" class="citation-list">'), '<div class="citation-list">'),
]


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (str(script), getattr(script, "attributes", {}).get("body"))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    if "script_files" in context:
        context["script_files"][:] = unique


def _fix_animations(app, doctree, docname):
    """Give each jshtml animation the alt text of its cell and drop its CDN stylesheet."""
    for cell in doctree.findall(nodes.container):
        metadata = cell.get("cell_metadata") or {}
        alt = ((metadata.get("mystnb") or {}).get("image") or {}).get("alt") or "Animation"
        for raw in list(cell.findall(nodes.raw)):
            html = raw.astext()
            if "_anim_img" not in html:
                continue
            html = _CDN_FONT_AWESOME.sub("", html)
            html = _ANIM_IMG.sub(rf'<img alt="{escape(alt)}"\1', html)
            html = _ANIM_SLIDER.sub(r'<input aria-label="Animation frame"\1', html)
            raw.replace_self(nodes.raw("", html, format=raw.get("format", "html")))


def _fix_pages(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = text
        for pattern, replacement in _PAGE_FIXES:
            fixed = pattern.sub(replacement, fixed)
        # sphinx-thebe's inline config, written twice into <head>: keep the first.
        first = _THEBE_CONFIG.search(fixed)
        if first:
            head, tail = fixed[: first.end()], fixed[first.end():]
            fixed = head + _THEBE_CONFIG.sub("", tail)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)  # after the others
    app.connect("doctree-resolved", _fix_animations)
    app.connect("build-finished", _fix_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
