"""The benchmark script runs and writes a results file the Performance page can read.

A smoke test only: ``bench/run.py --quick`` on a tiny grid, into a temporary folder. No timing
is asserted (timings belong to ``make bench``, not to the test suite). Skipped without torch.
"""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--repeats", "1",
         "--pause", "0.01", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, f"bench/run.py --quick failed:\n{proc.stdout}\n{proc.stderr}"
    files = sorted(out.glob("*.json"))
    assert len(files) == 1, f"expected one results file, found {[f.name for f in files]}"
    return out, json.loads(files[0].read_text())


def test_bench_quick_writes_results_and_plot(quick_results):
    out, results = quick_results
    assert results["quick"] is True
    assert (out / results["plot"]).is_file()
    assert (out / results["plot"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob("*.tmp")), "a temporary file was left behind"


def test_bench_results_record_the_machine(quick_results):
    _, results = quick_results
    machine = results["machine"]
    for key in ("cpu", "cores", "numpy", "torch", "numpy_blas", "threadpools", "env"):
        assert key in machine, f"machine info lacks {key!r}"
    assert machine["cores"] >= 1


def test_bench_rows_cover_both_dtypes_with_positive_timings(quick_results):
    _, results = quick_results
    rnn = results["rnn"]
    assert {r["dtype"] for r in rnn} == {"float32", "float64"}
    for r in rnn:
        assert r["rnnlib_s"]["median"] > 0 and r["torch_s"]["median"] > 0
        assert r["ratio"] == pytest.approx(r["rnnlib_s"]["median"] / r["torch_s"]["median"])
        assert r["flops"] == 6 * r["T"] * r["B"] * r["H"] * (r["D"] + r["H"])
        assert r["max_rel_diff_vs_torch"] < 1e-3, "rnnlib and torch computed different things"
    charlm = results["charlm"]
    assert {r["dtype"] for r in charlm} == {"float32", "float64"}
    assert all(r["rnnlib_chars_per_s"] > 0 and r["torch_chars_per_s"] > 0 for r in charlm)


def test_rnn_flops_counts_every_matrix_product():
    spec = importlib.util.spec_from_file_location("bench_run", ROOT / "bench" / "run.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    rnn_flops = bench.rnn_flops
    T, B, D, H = 3, 2, 5, 7
    forward = 2 * T * B * D * H + 2 * T * B * H * H  # input term + recurrent term
    backward = 2 * (2 * T * B * H * H) + 2 * (2 * T * B * D * H)  # dh_prev, dWhh; dx, dWxh
    assert rnn_flops(T, B, D, H) == forward + backward
