"""Sphinx extension: launch buttons once the repository is known, .ipynb downloads always.

sphinx-book-theme builds its Binder/Colab links from ``repository: url`` in _config.yml, but
with launch providers configured and no URL it crashes the build (it unpacks the repository's
parts, which are None). So until ``repository: url`` is set the providers are switched off
here: set the URL (and ``branch``) and the rocket button appears on every notebook page.

The theme also offers a chapter (a MyST text notebook) as an executed ``.ipynb`` only while
launch buttons are on. A student needs the notebook either way, so this extension copies the
executed notebook next to the page's sources and lets the theme show its download button.
"""
from __future__ import annotations

import shutil
from pathlib import Path

_PROVIDERS = ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url", "jupyterlite_url")


def _launch_only_with_a_repository(app, config):
    options = config.html_theme_options or {}
    if options.get("repository_url"):
        return
    launch = dict(options.get("launch_buttons") or {})
    for key in _PROVIDERS:
        launch.pop(key, None)
    options["launch_buttons"] = launch


def _offer_executed_notebook(app, pagename, templatename, context, doctree):
    if doctree is None or not context.get("sourcename", "").endswith((".md", ".md.txt")):
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return  # not a notebook page: plain Markdown
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app):
    app.connect("config-inited", _launch_only_with_a_repository, priority=900)
    # before the theme's header buttons (priority 501) read `ipynb_source`
    app.connect("html-page-context", _offer_executed_notebook, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
