"""Sphinx extension: launch buttons once the repository is known, .ipynb downloads always.

sphinx-book-theme builds its Binder/Colab links from ``repository: url`` in _config.yml, but
with launch providers configured and no URL it crashes the build (it unpacks the repository's
parts, which are None). So until ``repository: url`` is set the providers are switched off
here: set the URL (and ``branch``) and the rocket button appears on every notebook page.

The theme also offers a chapter (a MyST text notebook) as an executed ``.ipynb`` only while
launch buttons are on. A student needs the notebook either way, so this extension copies the
executed notebook next to the page's sources and lets the theme show its download button. That
copy starts with a setup cell (``scripts/kit.py``): outside the site (Colab, the student's own
Jupyter) it installs ``rnnlib`` when missing, and stands in for the site's ``glue``.

A chapter's source is a ``.md``, which Colab cannot open and Binder opens as text, so the
theme's links for chapter pages are pointed at notebooks that exist:

* Binder: ``book/<chapter>.ipynb``, which the repository's ``postBuild`` writes from the
  ``.md`` when Binder builds the environment (``requirements.txt``, ``runtime.txt``);
* Colab: the executed notebook of the *published* site, ``_sources/book/<chapter>.ipynb`` on
  the branch that holds it (``launch_buttons: site_branch``, by default ``gh-pages``, where
  ``ghp-import`` publishes a Jupyter Book); without a site branch chapters get no Colab button.

Exercise pages are the notebooks of ``exercises/`` themselves: the theme's links are right.
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from scripts import kit  # noqa: E402

_PROVIDERS = ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url", "jupyterlite_url")

# Outside the site, the chapters' ``from myst_nb import glue`` gets a stand-in that shows the value.
GLUE_STANDIN = '''if importlib.util.find_spec("myst_nb") is None:  # the site's glue(): here, show the value
    import types, IPython.display
    sys.modules["myst_nb"] = types.SimpleNamespace(
        glue=lambda name, value, display=True: IPython.display.display(value) if display else None)'''


def _launch_only_with_a_repository(app, config):
    options = config.html_theme_options or {}
    if options.get("repository_url"):
        return
    launch = dict(options.get("launch_buttons") or {})
    for key in _PROVIDERS:
        launch.pop(key, None)
    options["launch_buttons"] = launch


def _is_chapter_notebook(context) -> bool:
    return context.get("sourcename", "").endswith((".md", ".md.txt"))


def _executed(app, pagename) -> Path:
    return Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"


def _offer_executed_notebook(app, pagename, templatename, context, doctree):
    if doctree is None or not _is_chapter_notebook(context):
        return
    if not _executed(app, pagename).is_file():
        return  # not a notebook page: plain Markdown
    context["ipynb_source"] = f"{pagename}.ipynb"


def chapter_notebook(executed: Path, kit_url: str):
    """The executed chapter notebook with the setup cell first (see the module's docstring)."""
    nb = nbformat.read(str(executed), as_version=4)
    code = kit.setup_code(kit_url, kit.wheel_name()) + "\n" + GLUE_STANDIN
    cell = nbformat.v4.new_code_cell(code)
    cell["id"] = "course-kit-setup"
    cell.metadata["tags"] = ["course-kit-setup"]
    nb.cells.insert(0, cell)
    return nb


def _write_chapter_notebook(app, pagename, templatename, context, doctree):
    # After the theme (priority 501), which copies the bare executed notebook there itself.
    if context.get("ipynb_source") != f"{pagename}.ipynb" or not _is_chapter_notebook(context):
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    url = kit.install_source(kit.site_config(Path(app.srcdir)), kit.wheel_name())
    nbformat.write(chapter_notebook(_executed(app, pagename), url), str(target))


def _buttons(group):
    for button in group:
        yield button
        yield from _buttons(button.get("buttons", []))


def _point_chapter_links_at_notebooks(app, pagename, templatename, context, doctree):
    if not _is_chapter_notebook(context) or context.get("ipynb_source") != f"{pagename}.ipynb":
        return
    launch = (app.config.html_theme_options or {}).get("launch_buttons") or {}
    site_branch = launch.get("site_branch", "gh-pages")
    md = re.compile(rf"{re.escape(pagename)}\.md\b")
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        kept = []
        for button in group.get("buttons", []):
            url = button.get("url", "")
            if button.get("text") == "Colab":
                if not site_branch:
                    continue
                button["url"] = re.sub(rf"/blob/[^/]+/.*{re.escape(pagename)}\.md$",
                                       f"/blob/{site_branch}/_sources/{pagename}.ipynb", url)
            elif button.get("text") == "Binder":
                button["url"] = md.sub(f"{pagename}.ipynb", url)
            kept.append(button)
        group["buttons"] = kept


def setup(app):
    app.connect("config-inited", _launch_only_with_a_repository, priority=900)
    # before the theme's header buttons (priority 501) read `ipynb_source`
    app.connect("html-page-context", _offer_executed_notebook, priority=400)
    # after the theme has made its links and copied the bare notebook
    app.connect("html-page-context", _write_chapter_notebook, priority=600)
    app.connect("html-page-context", _point_chapter_links_at_notebooks, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
