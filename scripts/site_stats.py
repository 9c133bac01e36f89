"""Measure the website for the README: cold and cached build times, largest page's transfer.

    .venv/bin/python -m scripts.site_stats            # both (builds into a temporary folder)
    .venv/bin/python -m scripts.site_stats --html _build/html   # transfer sizes only

Build times: `jupyter-book build . --path-output <empty folder>` (cold: every chapter
executes), then the same command again (cached: execution cache hit, pages re-rendered).
Transfer size: every page of _toc.yml opened in headless Chromium (/usr/bin/chromium) from a
localhost server, each in a fresh browser context (empty cache), summing the sizes (headers and
bodies) of every response the page needs until the network is idle.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.browser.site import DESKTOP, ROOT, chromium, serve, toc_docs, wait_for_math

BIN = Path(sys.executable).parent


def build_times(out: Path) -> tuple[float, float]:
    times = []
    for _ in range(2):
        start = time.perf_counter()
        subprocess.run([str(BIN / "jupyter-book"), "build", ".", "--path-output", str(out)],
                       cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times[0], times[1]


def transfer_sizes(html: Path) -> dict[str, int]:
    sizes = {}
    with serve(html) as base, chromium() as browser:
        for doc in toc_docs():
            context = browser.new_context(viewport=DESKTOP)
            page = context.new_page()
            total = [0]

            def finished(request, total=total):
                s = request.sizes()
                total[0] += s["responseBodySize"] + s["responseHeadersSize"]

            page.on("requestfinished", finished)
            page.goto(f"{base}{doc}.html", wait_until="load")
            wait_for_math(page)
            page.wait_for_load_state("networkidle")
            sizes[doc] = total[0]
            context.close()
    return sizes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", type=Path, help="measure this built site; skip the build timing")
    args = ap.parse_args()
    if args.html:
        html = args.html
    else:
        out = Path(tempfile.mkdtemp(prefix="site_stats_"))
        cold, cached = build_times(out)
        html = out / "_build" / "html"
        print(f"- Build, cold (empty output folder): {cold:.0f} s; cached: {cached:.0f} s")
    sizes = transfer_sizes(html)
    doc, size = max(sizes.items(), key=lambda kv: kv[1])
    print(f"- Largest page: `{doc}.html`, {size / 1e6:.2f} MB transferred "
          f"({len(sizes)} pages measured)")


if __name__ == "__main__":
    main()
