"""Sphinx extension: the course kit on the site.

Builds the kit (``scripts/kit.py``, what ``make kit`` builds: the ``rnnlib`` wheel and the zip
of every exercise notebook with a requirements.txt and a README) into the site's ``kit/``
folder, so that both are downloaded from the site and the notebooks' setup code can install
the wheel from ``<html.baseurl>/kit/``. Offers them:

* on any page, with the directive ``{course-kit}`` (used by book/how_to_use.md);
* on every exercise page (``exercises/...``, rendered from the notebook, which cannot hold a
  directive), in the same box right under the page's title.
"""
from __future__ import annotations

import html
import sys
from pathlib import Path

from docutils import nodes
from sphinx.util.docutils import SphinxDirective
from sphinx.util.osutil import relative_uri

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scripts import kit  # noqa: E402

HOW_TO_USE = "book/how_to_use"


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1e3:.0f} kB"


def _files(outdir: Path) -> dict:
    folder = outdir / kit.SITE_FOLDER
    return {"zip": folder / kit.ZIP_NAME, "wheel": folder / kit.wheel_name()}


def _build_kit(app):
    if app.builder.format != "html":
        return
    kit.build(Path(app.outdir) / kit.SITE_FOLDER)


def box_html(app, docname: str) -> str:
    """The kit's download box, with links relative to the page ``docname``."""
    here = app.builder.get_target_uri(docname)
    files = _files(Path(app.outdir))

    def link(target, text, kind="download"):
        return f'<a class="reference {kind}" href="{html.escape(relative_uri(here, target))}">{text}</a>'

    zip_link = link(f"{kit.SITE_FOLDER}/{kit.ZIP_NAME}", f"<code>{kit.ZIP_NAME}</code>")
    wheel_link = link(f"{kit.SITE_FOLDER}/{kit.wheel_name()}", f"<code>{kit.wheel_name()}</code>")
    how = ("" if docname == HOW_TO_USE else
           f' {link(app.builder.get_target_uri(HOW_TO_USE), "How to use", "internal")} gives the three'
           " commands that set it up.")
    return (
        '<div class="admonition tip course-kit">\n'
        '<p class="admonition-title">The course kit</p>\n'
        f"<p>{zip_link} ({_size(files['zip'])}): every exercise notebook, <code>rnnlib</code>"
        " (the course's package, with the checkers the test cells call), a"
        f" <code>requirements.txt</code> and a README.{how}</p>\n"
        f"<p>{wheel_link} ({_size(files['wheel'])}): <code>rnnlib</code> alone, for a Jupyter"
        " you already have (<code>%pip install</code> it), as in Colab.</p>\n"
        "</div>\n"
    )


class CourseKit(SphinxDirective):
    """``{course-kit}``: the kit's download box on this page."""

    def run(self):
        node = nodes.raw("", "", format="html")
        node["course_kit_docname"] = self.env.docname
        return [node]


def _fill_boxes(app, doctree, docname):
    for node in doctree.findall(nodes.raw):
        if "course_kit_docname" in node:
            text = box_html(app, docname) if app.builder.format == "html" else ""
            node.replace_self(nodes.raw("", text, format="html"))


def _box_on_exercise_pages(app, pagename, templatename, context, doctree):
    if doctree is None or not pagename.startswith("exercises/") or "body" not in context:
        return
    body = context["body"]
    end = body.find("</h1>")
    at = end + len("</h1>") if end >= 0 else 0
    context["body"] = body[:at] + "\n" + box_html(app, pagename) + body[at:]


def setup(app):
    app.add_directive("course-kit", CourseKit)
    app.connect("builder-inited", _build_kit)
    app.connect("doctree-resolved", _fill_boxes)
    app.connect("html-page-context", _box_on_exercise_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
