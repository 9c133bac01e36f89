"""Sphinx extension: ship MathJax 3 with the site instead of loading it from a CDN.

Sphinx's default ``mathjax_path`` points at a CDN, which an offline reader (and the machines
this course is built on) cannot reach, so formulas would stay raw TeX. The ``django-static-mathjax``
wheel carries MathJax 3's ``es5/`` build; after the HTML is written we copy it to
``_static/mathjax/`` (the config sets ``mathjax_path: mathjax/tex-chtml.js``, relative to
``_static``). It is copied into the *output* only: a ``.js`` file in the source ``_static`` folder
would be injected into every page by Jupyter Book.
"""
from __future__ import annotations

import shutil
from pathlib import Path


def _mathjax_es5() -> Path:
    import mathjax  # the django-static-mathjax package

    es5 = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    if not (es5 / "tex-chtml.js").is_file():
        raise RuntimeError(f"MathJax 3 not found at {es5}; install django-static-mathjax")
    return es5


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if (target / "tex-chtml.js").is_file():
        return
    shutil.copytree(_mathjax_es5(), target, dirs_exist_ok=True)


def setup(app):
    _mathjax_es5()  # fail early, with a clear message, if the wheel is missing
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
