"""Benchmark rnnlib against PyTorch on the CPU, and against the machine's own matmul speed.

Run it with ``make bench`` (which also unsets two OpenBLAS variables, see below), or::

    .venv/bin/python bench/run.py                 # a few minutes
    .venv/bin/python bench/run.py --with-build    # + cold and cached book build (many minutes)
    .venv/bin/python bench/run.py --with-grading  # + nbgrader autograde seconds per notebook
    .venv/bin/python bench/run.py --quick --out /tmp/bench   # tiny grid, seconds (smoke test)

What it measures, all in one process:

1. **RNN forward + BPTT.** ``rnn_forward`` + ``rnn_backward`` against PyTorch's ``nn.RNN``
   forward + backward, on the same weights, inputs and upstream gradients, float32 and
   float64, over a grid of sizes ``(T, B, D, H)``. The two sides are *interleaved*: every
   repeat runs each side once (alternating which goes first), so a burst of background load
   slows both, and the medians are compared. Both sides compute the same gradients (input,
   initial state, both weight matrices, bias); the script checks that they agree.
2. **GFLOP/s.** The matrix products of forward + backward, counted (``6 T B H (D + H)``
   floating-point operations, see :func:`rnn_flops`), divided by rnnlib's median time, as a
   fraction of a large square ``numpy.matmul`` timed in the same interleaved loop: how close a
   readable numpy RNN comes to the practical limit of this machine's BLAS.
3. **Character-model training throughput.** Characters per second of one training step of
   ``rnnlib.charlm`` (``char_rnn_loss``, global-norm clipping, ``rnnlib.optim.Adam``) against
   the same model written with PyTorch (one-hot input into ``nn.RNN``, ``nn.Linear``,
   ``cross_entropy``, ``clip_grad_norm_``, ``torch.optim.Adam``), on the course's text.
4. **Opt-in:** ``--with-build`` times a cold ``jupyter-book build`` of a temporary copy of the
   repository (every chapter executes) and a cached rebuild; ``--with-grading`` times
   ``nbgrader autograde`` per submitted notebook in a temporary course, built the way
   ``tests/test_autograde.py`` builds one.

Results go to ``bench/results/<date>.json`` (with the machine: CPU model, cores, numpy and its
BLAS, threadpoolctl's view of the thread pools, torch, load average) and a plot
``bench/results/<date>.png``; the book's "Performance" appendix shows the newest pair.

About OpenBLAS variables: ``OPENBLAS_CORETYPE`` forces OpenBLAS to use the kernels of a named
CPU and ``OPENBLAS_L2_SIZE`` overrides the cache size it tunes for; set to the wrong values
they make numpy several times slower. ``make bench`` unsets both for the benchmark only; the
results file records the values this process saw and which kernel OpenBLAS chose.

PyTorch is needed only here and in the tests; ``rnnlib`` never imports it.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from anywhere: rnnlib and tests.nbtools come from here

from rnnlib.checks import GRADING_SEED_ENV  # noqa: E402
from rnnlib.charlm import char_rnn_loss, init_char_rnn  # noqa: E402
from rnnlib.data import batchify, build_vocab, iter_chunks, load_text  # noqa: E402
from rnnlib.optim import Adam  # noqa: E402
from rnnlib.training import tbptt_train  # noqa: E402
from rnnlib.rnn import _tanh_via_exp, rnn_backward, rnn_forward  # noqa: E402
from bench.machine import loadavg, machine_info  # noqa: E402
from tests.nbtools import assignments  # noqa: E402

RESULTS = ROOT / "bench" / "results"

# (T, B, D, H). The first two are the sizes the targets are set at; (64, 32, 65, 128) is about
# the chapter 6 character model; B = 1 is what sampling runs; H = 512 is the largest state.
GRID = [(64, 32, 65, 128), (100, 64, 128, 256), (200, 1, 65, 128), (64, 32, 128, 512)]
QUICK_GRID = [(8, 4, 5, 16), (6, 1, 5, 8)]
# Character models: (T, B, H); the first is train_char_rnn's default (the chapter 6 model).
CHARLM = [(25, 32, 128), (100, 64, 256)]
QUICK_CHARLM = [(8, 4, 16)]

# The targets: rnnlib time / PyTorch time at most this, float32 ...
TARGET_RATIO = {(64, 32, 65, 128): 0.6, (100, 64, 128, 256): 0.8}
TARGET_RATIO_ANYWHERE = 1.0  # ... never slower than PyTorch anywhere in the grid ...
TARGET_PEAK_SIZE = (100, 64, 128, 256)  # ... and this fraction of the matmul GFLOP/s here.
TARGET_PEAK_FRACTION = 0.55

DTYPES = {"float32": np.float32, "float64": np.float64}


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


def interleaved(fns, repeats, warmup=2, pause=0.0, budget=None, min_repeats=7):
    """Time several callables in turns, so that background noise hits each of them alike.

    Between two calls the process sleeps ``pause`` seconds (untimed). Both libraries keep
    their worker threads busy-waiting for a while after a call, so that the next call starts
    fast: OpenBLAS for up to about 0.1 s, PyTorch's OpenMP pool for less. On a 2-core machine
    those spinning threads take a core away from whatever runs next, and without the pause
    each side would mostly measure the other one's spinning (PyTorch several times slower
    right after a numpy product, and the other way round).

    Parameters
    ----------
    fns : dict of str -> callable
        Each called with no arguments.
    repeats : int
        Timed rounds; each round calls every function once, the order rotating each round.
    warmup : int
        Untimed rounds first (first calls allocate, fill caches, start thread pools).
    pause : float
        Seconds of sleep before each call.
    budget : float, optional
        Stop after this many seconds of timed rounds (but not before ``min_repeats`` rounds),
        so that the large sizes do not make the whole benchmark take too long.
    min_repeats : int

    Returns
    -------
    dict of str -> list of float
        Seconds of every timed call, per function.
    """
    names = list(fns)
    times = {n: [] for n in names}
    start = None
    for r in range(warmup + repeats):
        if r == warmup:
            start = time.perf_counter()
        elif budget and r - warmup >= min_repeats and time.perf_counter() - start > budget:
            break
        k = r % len(names)
        for name in names[k:] + names[:k]:
            time.sleep(pause)
            t0 = time.perf_counter()
            fns[name]()
            dt = time.perf_counter() - t0
            if r >= warmup:
                times[name].append(dt)
    return times


def summary(samples):
    """Median and quartiles (seconds) of a list of timings."""
    q = np.percentile(samples, [25, 50, 75])
    return {"median": float(q[1]), "q25": float(q[0]), "q75": float(q[2]), "n": len(samples)}


# ---------------------------------------------------------------------------------------------
# 1 and 2: RNN forward + BPTT against nn.RNN, and against the matmul limit
# ---------------------------------------------------------------------------------------------


def rnn_flops(T, B, D, H):
    """Floating-point operations in the matrix products of ``rnn_forward`` + ``rnn_backward``.

    An ``(m, k) @ (k, n)`` product is ``2 m k n`` operations. Forward: the input term
    (``T B x D -> H``) and the recurrent term (``T B x H -> H``) make ``2 T B H (D + H)``.
    Backward has three products of each size: ``dh_prev = dz @ Whh`` and ``dWhh`` (``H x H``
    each), ``dx = dz @ Wxh`` and ``dWxh`` (``D x H`` each), so twice the forward again. The
    elementwise work (tanh, its derivative, the bias) is not counted: it is O(T B H), small
    beside the products, and it is what keeps the achieved rate under the matmul peak.
    """
    return 6 * T * B * H * (D + H)


def _rnn_case(T, B, D, H, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, B, D)).astype(dtype)
    h0 = (0.1 * rng.standard_normal((B, H))).astype(dtype)
    Wxh = (rng.standard_normal((H, D)) / np.sqrt(D)).astype(dtype)
    Whh = (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype)
    bh = (0.1 * rng.standard_normal(H)).astype(dtype)
    dhs = rng.standard_normal((T, B, H)).astype(dtype)
    return x, h0, Wxh, Whh, bh, dhs


def _max_rel_diff(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-30))


def bench_rnn(torch, T, B, D, H, dtype_name, repeats, matmul_n, pause, budget=None):
    """Interleaved timings of rnnlib, PyTorch and a square matmul at one size and dtype."""
    dtype = DTYPES[dtype_name]
    x, h0, Wxh, Whh, bh, dhs = _rnn_case(T, B, D, H, dtype)

    def run_rnnlib():
        hs, cache = rnn_forward(x, h0, Wxh, Whh, bh)
        return hs, rnn_backward(dhs, cache)

    tdtype = getattr(torch, dtype_name)
    net = torch.nn.RNN(D, H, nonlinearity="tanh").to(tdtype)
    with torch.no_grad():  # the same weights; torch's second bias is zero (they only add up)
        net.weight_ih_l0.copy_(torch.from_numpy(Wxh))
        net.weight_hh_l0.copy_(torch.from_numpy(Whh))
        net.bias_ih_l0.copy_(torch.from_numpy(bh))
        net.bias_hh_l0.zero_()
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0[None]).requires_grad_()  # torch wants (layers, B, H)
    dhst = torch.from_numpy(dhs)

    def run_torch():
        # rnnlib returns dx and dh0 as well, so torch computes them too.
        net.zero_grad(set_to_none=True)
        xt.grad = h0t.grad = None
        out, _ = net(xt, h0t)
        out.backward(dhst)
        return out

    # Both sides must compute the same thing, or the comparison means nothing.
    hs, (dx, dh0, dWxh, dWhh, dbh) = run_rnnlib()
    out = run_torch()
    agree = max(
        _max_rel_diff(hs, out.detach().numpy()),
        _max_rel_diff(dx, xt.grad.numpy()),
        _max_rel_diff(dh0, h0t.grad[0].numpy()),
        _max_rel_diff(dWxh, net.weight_ih_l0.grad.numpy()),
        _max_rel_diff(dWhh, net.weight_hh_l0.grad.numpy()),
        _max_rel_diff(dbh, net.bias_ih_l0.grad.numpy()),
    )
    if agree > (1e-3 if dtype_name == "float32" else 1e-9):
        raise RuntimeError(f"rnnlib and torch disagree at {(T, B, D, H)} {dtype_name}: {agree:.2e}")

    a = np.ones((matmul_n, matmul_n), dtype)
    bmat = np.ones((matmul_n, matmul_n), dtype)
    c = np.empty((matmul_n, matmul_n), dtype)

    def run_matmul():
        np.matmul(a, bmat, out=c)

    times = interleaved({"rnnlib": run_rnnlib, "torch": run_torch, "matmul": run_matmul},
                        repeats, pause=pause, budget=budget)
    r, t, m = (summary(times[k]) for k in ("rnnlib", "torch", "matmul"))
    flops = rnn_flops(T, B, D, H)
    peak = 2 * matmul_n**3 / m["median"] / 1e9
    rnnlib_gflops = flops / r["median"] / 1e9
    return {
        "T": T, "B": B, "D": D, "H": H, "dtype": dtype_name,
        "rnnlib_s": r, "torch_s": t, "matmul_s": m, "matmul_n": matmul_n,
        "ratio": r["median"] / t["median"],
        "flops": flops,
        "rnnlib_gflops": rnnlib_gflops,
        "torch_gflops": flops / t["median"] / 1e9,
        "matmul_gflops": peak,
        "fraction_of_matmul": rnnlib_gflops / peak,
        "max_rel_diff_vs_torch": agree,
    }


def bench_tanh(B, H, dtype_name, repeats=200):
    """``np.tanh`` against the exp identity on one step's ``(B, H)`` array.

    ``rnnlib.rnn.tanh_in_place`` uses the identity (``_tanh_via_exp``) in float64, where it
    was about twice as fast here, and ``np.tanh`` in float32; these rows keep that choice honest
    on whatever machine runs the benchmark. Both are single-threaded, so no pause is needed.
    Each call first copies the same pre-activations in (both pay for that copy).
    """
    dtype = DTYPES[dtype_name]
    z = np.random.default_rng(0).standard_normal((B, H)).astype(dtype)
    buf = np.empty_like(z)

    def numpy_tanh():
        np.copyto(buf, z)
        np.tanh(buf, out=buf)

    def identity():
        np.copyto(buf, z)
        _tanh_via_exp(buf)

    times = interleaved({"np.tanh": numpy_tanh, "exp identity": identity}, repeats, warmup=20)
    t_np, t_id = summary(times["np.tanh"]), summary(times["exp identity"])
    return {"B": B, "H": H, "dtype": dtype_name, "np_tanh_s": t_np, "exp_identity_s": t_id,
            "ratio": t_id["median"] / t_np["median"]}


# ---------------------------------------------------------------------------------------------
# 3: character-model training throughput
# ---------------------------------------------------------------------------------------------


def bench_charlm(torch, T, B, H, dtype_name, blocks, steps_per_block, text, pause,
                 budget=None):
    """Characters per second of a training step (loss, gradients, clipping, Adam), both sides."""
    dtype = DTYPES[dtype_name]
    vocab = build_vocab(text)
    V = len(vocab)
    streams = batchify(vocab.encode(text), B)
    chunks = list(iter_chunks(streams, T, drop_last=True))

    params = {k: v.astype(dtype) for k, v in init_char_rnn(V, H, rng=0).items()}
    opt = Adam(2e-3)
    state = {"h": None, "i": 0}

    def rnnlib_block():
        # rnnlib's one training loop (the book's and the models'), a block of steps at a time,
        # the state carried from block to block as from chunk to chunk.
        block_chunks = [chunks[(state["i"] + k) % len(chunks)] for k in range(steps_per_block)]
        state["i"] += steps_per_block
        state["h"] = tbptt_train(params, char_rnn_loss, block_chunks, opt, clip=5.0,
                                 h0=state["h"])["state"]

    F = torch.nn.functional
    tdtype = getattr(torch, dtype_name)
    rnn = torch.nn.RNN(V, H, nonlinearity="tanh").to(tdtype)
    lin = torch.nn.Linear(H, V).to(tdtype)
    with torch.no_grad():  # start from the same weights as the rnnlib model
        rnn.weight_ih_l0.copy_(torch.from_numpy(params["Wxh"]))
        rnn.weight_hh_l0.copy_(torch.from_numpy(params["Whh"]))
        rnn.bias_ih_l0.copy_(torch.from_numpy(params["bh"]))
        rnn.bias_hh_l0.zero_()
        lin.weight.copy_(torch.from_numpy(params["Why"]))
        lin.bias.copy_(torch.from_numpy(params["by"]))
    tparams = list(rnn.parameters()) + list(lin.parameters())
    topt = torch.optim.Adam(tparams, lr=2e-3)
    tchunks = [(torch.from_numpy(i.astype(np.int64)), torch.from_numpy(t.astype(np.int64)))
               for i, t in chunks]
    tstate = {"h": torch.zeros((1, B, H), dtype=tdtype), "i": 0}

    def torch_step():
        inputs, targets = tchunks[tstate["i"] % len(tchunks)]
        tstate["i"] += 1
        topt.zero_grad(set_to_none=True)
        hs, h_last = rnn(F.one_hot(inputs, V).to(tdtype), tstate["h"])
        loss = F.cross_entropy(lin(hs).reshape(-1, V), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(tparams, 5.0)
        topt.step()
        tstate["h"] = h_last.detach()  # truncated BPTT: the state carries, the graph does not

    def block(step):
        return lambda: [step() for _ in range(steps_per_block)]

    times = interleaved({"rnnlib": rnnlib_block, "torch": block(torch_step)}, blocks, 1,
                        pause=pause, budget=budget, min_repeats=min(5, blocks))
    chars = steps_per_block * T * B
    r, t = summary(times["rnnlib"]), summary(times["torch"])
    return {
        "T": T, "B": B, "H": H, "V": V, "dtype": dtype_name,
        "steps_per_block": steps_per_block,
        "rnnlib_s": r, "torch_s": t,
        "rnnlib_chars_per_s": chars / r["median"],
        "torch_chars_per_s": chars / t["median"],
        "ratio": r["median"] / t["median"],
    }


# ---------------------------------------------------------------------------------------------
# 4: book build and autograding (opt-in)
# ---------------------------------------------------------------------------------------------


def _venv_env():
    """The environment with this Python's bin folder first on PATH (nbgrader runs `alembic`)."""
    bin_dir = str(Path(sys.executable).parent)
    return dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))


def _repo_copy(dest):
    """Copy the working tree (tracked and untracked files, not what .gitignore ignores)."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, files):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def bench_build():
    """Seconds of a cold ``jupyter-book build`` of a repository copy, then of a cached one."""
    jb = Path(sys.executable).parent / "jupyter-book"
    out = {}
    with tempfile.TemporaryDirectory(prefix="rnn-bench-build-") as tmp:
        repo = Path(tmp) / "repo"
        _repo_copy(repo)
        env = dict(_venv_env(), PYTHONPATH=str(repo))  # the copy's rnnlib, not the installed one
        for name in ("cold", "cached"):
            t0 = time.perf_counter()
            proc = subprocess.run([str(jb), "build", ".", "--path-output", str(Path(tmp) / "out")],
                                  cwd=repo, env=env, capture_output=True, text=True)
            log = proc.stdout + proc.stderr
            out[name] = {
                "seconds": time.perf_counter() - t0,
                "returncode": proc.returncode,
                "warnings": sum("WARNING" in line for line in log.splitlines()),
            }
            print(f"  book build ({name}): {out[name]['seconds']:.1f} s, exit {proc.returncode}",
                  flush=True)
    return out


def bench_grading(students=("solved", "untouched"), names=None):
    """Seconds of ``nbgrader autograde`` per submitted notebook, for every assignment.

    Each assignment gets one submission per name in ``students``: ``"solved"`` (every
    exercise answered with the solution) or anything else (the untouched release notebook).
    ``names`` limits the assignments (default: all of them).
    """
    from tests.nbtools import solution_ids, student_notebook

    env = dict(_venv_env(), PYTHONPATH=str(ROOT))
    env[GRADING_SEED_ENV] = "20261125"

    def nbgrader(course, *args):
        proc = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"],
                              cwd=course, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")

    rows = []
    with tempfile.TemporaryDirectory(prefix="rnn-bench-grading-") as tmp:
        course = Path(tmp)
        shutil.copy(ROOT / "nbgrader_config.py", course)
        shutil.copytree(ROOT / "solutions", course / "solutions")
        for name in names or assignments():
            nbgrader(course, "generate_assignment", name, "--force")
            ids = solution_ids(name)
            for student in students:
                folder = course / "submitted" / student / name
                folder.mkdir(parents=True)
                solved = ids if student == "solved" else []
                nb = student_notebook(name, solved)
                (folder / f"{name}.ipynb").write_text(json.dumps(nb))
            t0 = time.perf_counter()
            nbgrader(course, "autograde", name, "--force")
            seconds = time.perf_counter() - t0
            rows.append({"assignment": name, "notebooks": len(students), "seconds": seconds,
                         "seconds_per_notebook": seconds / len(students)})
            print(f"  autograde {name}: {seconds / len(students):.1f} s per notebook", flush=True)
    return rows


# ---------------------------------------------------------------------------------------------
# Machine, targets, output
# ---------------------------------------------------------------------------------------------


def check_targets(rnn_rows):
    """The issue's targets, each with what was measured and whether it is met."""
    out = []
    by_size = {(r["T"], r["B"], r["D"], r["H"], r["dtype"]): r for r in rnn_rows}
    for size, limit in TARGET_RATIO.items():
        row = by_size.get((*size, "float32"))
        if row:
            out.append({"target": f"rnnlib/PyTorch time at {size} float32 <= {limit}",
                        "measured": row["ratio"], "met": row["ratio"] <= limit})
    if rnn_rows:
        worst = max(rnn_rows, key=lambda r: r["ratio"])
        where = f"{(worst['T'], worst['B'], worst['D'], worst['H'])} {worst['dtype']}"
        out.append({"target": f"never slower than PyTorch (worst: {where})",
                    "measured": worst["ratio"], "met": worst["ratio"] <= TARGET_RATIO_ANYWHERE})
    row = by_size.get((*TARGET_PEAK_SIZE, "float32"))
    if row:
        out.append({"target": f"fraction of matmul GFLOP/s at {TARGET_PEAK_SIZE} float32 "
                              f">= {TARGET_PEAK_FRACTION}",
                    "measured": row["fraction_of_matmul"],
                    "met": row["fraction_of_matmul"] >= TARGET_PEAK_FRACTION})
    return out


def size_label(row):
    return f"({row['T']}, {row['B']}, {row['D']}, {row['H']})"


def plot(results, path):
    """Two panels: time ratio rnnlib/PyTorch per size, and fraction of the matmul GFLOP/s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = results["rnn"]
    sizes = list(dict.fromkeys(size_label(r) for r in rows))
    xpos = np.arange(len(sizes))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for k, dtype_name in enumerate(DTYPES):
        sel = {size_label(r): r for r in rows if r["dtype"] == dtype_name}
        ratio = [sel[s]["ratio"] if s in sel else np.nan for s in sizes]
        frac = [sel[s]["fraction_of_matmul"] if s in sel else np.nan for s in sizes]
        off = (k - 0.5) * 0.38
        axes[0].bar(xpos + off, ratio, 0.38, label=dtype_name)
        axes[1].bar(xpos + off, frac, 0.38, label=dtype_name)
    axes[0].axhline(1.0, color="k", lw=1, ls="--", label="as fast as PyTorch")
    for size, limit in TARGET_RATIO.items():
        label = f"({', '.join(map(str, size))})"
        if label in sizes:
            i = sizes.index(label)
            axes[0].plot([i - 0.4, i], [limit, limit], color="C3", lw=2)
    axes[0].plot([], [], color="C3", lw=2, label="float32 target")
    axes[0].set_ylabel("rnnlib time / PyTorch time (lower is faster)")
    axes[0].set_title("Forward + BPTT against torch.nn.RNN")
    axes[1].axhline(TARGET_PEAK_FRACTION, color="C3", lw=1, ls="--",
                    label=f"float32 target at {TARGET_PEAK_SIZE}")
    axes[1].set_ylabel("rnnlib GFLOP/s / large-matmul GFLOP/s")
    axes[1].set_title("Share of this machine's matmul speed")
    tallest = [max([r["ratio"] for r in rows] + [1.0]),
               max([r["fraction_of_matmul"] for r in rows] + [TARGET_PEAK_FRACTION])]
    for ax, top in zip(axes, tallest):
        ax.set_xticks(xpos, sizes, rotation=15)
        ax.set_xlabel("(T, B, D, H)")
        ax.set_ylim(0, 1.35 * top)  # room above the bars for the legend
        ax.legend(fontsize=8, loc="upper left", ncol=2)
    fig.suptitle(f"{results['date'][:10]}, {results['machine']['cpu']}, "
                 f"{results['machine']['cores']} cores", fontsize=10)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_report(results):
    print("\nRNN forward + BPTT (median seconds; ratio = rnnlib / PyTorch)")
    print(f"{'(T, B, D, H)':>22} {'dtype':>8} {'rnnlib':>9} {'torch':>9} {'ratio':>6} "
          f"{'GFLOP/s':>8} {'of matmul':>9}")
    for r in results["rnn"]:
        print(f"{size_label(r):>22} {r['dtype']:>8} {r['rnnlib_s']['median']:9.4f} "
              f"{r['torch_s']['median']:9.4f} {r['ratio']:6.2f} {r['rnnlib_gflops']:8.1f} "
              f"{r['fraction_of_matmul']:9.0%}")
    print("\ntanh of one step's (B, H) array (median microseconds)")
    for r in results["tanh"]:
        print(f"  ({r['B']}, {r['H']}) {r['dtype']}: np.tanh {r['np_tanh_s']['median'] * 1e6:.1f}, "
              f"exp identity {r['exp_identity_s']['median'] * 1e6:.1f} (ratio {r['ratio']:.2f})")
    print("\nCharacter model training (characters per second)")
    for r in results["charlm"]:
        print(f"  T={r['T']} B={r['B']} H={r['H']} V={r['V']} {r['dtype']}: rnnlib "
              f"{r['rnnlib_chars_per_s']:,.0f}, PyTorch {r['torch_chars_per_s']:,.0f} "
              f"(time ratio {r['ratio']:.2f})")
    print("\nTargets")
    for t in results["targets"]:
        print(f"  [{'met' if t['met'] else 'MISSED'}] {t['target']}: {t['measured']:.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="tiny grid and few repeats: checks the script works, in seconds")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed repeats per size (default 25, quick: 3)")
    parser.add_argument("--pause", type=float, default=None,
                        help="seconds between timed calls, so thread pools go idle "
                             "(default 0.15)")
    parser.add_argument("--budget", type=float, default=20.0,
                        help="seconds of timed rounds per size at most (at least 7 rounds)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="first wait up to this long for the 1-minute load average to "
                             "drop below 0.5 (other processes skew the timings)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    parser.add_argument("--with-build", action="store_true",
                        help="also time a cold and a cached book build (many minutes)")
    parser.add_argument("--with-grading", action="store_true",
                        help="also time nbgrader autograde per notebook (minutes)")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        sys.exit("bench needs PyTorch (CPU): .venv/bin/pip install torch==2.13.0")

    quick = args.quick
    if args.wait_quiet > 0 and hasattr(os, "getloadavg"):
        deadline = time.monotonic() + args.wait_quiet
        while os.getloadavg()[0] >= 0.5 and time.monotonic() < deadline:
            time.sleep(5)
    repeats = args.repeats or (3 if quick else 25)
    grid = QUICK_GRID if quick else GRID
    matmul_n = 128 if quick else 2048
    pause = 0.15 if args.pause is None else args.pause
    budget = None if quick else args.budget
    started = _dt.datetime.now().astimezone()
    results = {
        "date": started.isoformat(timespec="seconds"),
        "quick": quick,
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine_info(torch=torch.__version__, torch_threads=torch.get_num_threads()),
        "settings": {"repeats": repeats, "matmul_n": matmul_n, "pause_s": pause,
                     "budget_s": budget, "grid": grid},
        "rnn": [], "tanh": [], "charlm": [], "build": None, "grading": None,
    }

    print(f"rnnlib vs PyTorch {torch.__version__}, numpy {np.__version__}, "
          f"{results['machine']['cpu']} ({results['machine']['cores']} cores)", flush=True)
    load = results["machine"]["loadavg_start"]
    if load and load[0] >= 0.5:
        print(f"  warning: load average {load[0]:.1f}: other processes are using the CPU, and "
              "multi-threaded BLAS suffers badly from that; expect noisy timings", flush=True)
    for dtype_name in DTYPES:
        for T, B, D, H in grid:
            row = bench_rnn(torch, T, B, D, H, dtype_name, repeats, matmul_n, pause, budget)
            results["rnn"].append(row)
            print(f"  rnn {size_label(row)} {dtype_name}: ratio {row['ratio']:.2f}, "
                  f"{row['fraction_of_matmul']:.0%} of matmul", flush=True)

    for B, H in sorted({(B, H) for _, B, _, H in grid if B > 1}):
        for dtype_name in DTYPES:
            row = bench_tanh(B, H, dtype_name, repeats=20 if quick else 300)
            results["tanh"].append(row)
            print(f"  tanh ({B}, {H}) {dtype_name}: the exp identity takes {row['ratio']:.2f}x "
                  "the time of np.tanh", flush=True)

    text = load_text(max_chars=20_000 if quick else 200_000)
    for T, B, H in (QUICK_CHARLM if quick else CHARLM):
        for dtype_name in DTYPES:
            row = bench_charlm(torch, T, B, H, dtype_name, blocks=3 if quick else 7,
                               steps_per_block=2 if quick else 10, text=text, pause=pause,
                               budget=budget)
            results["charlm"].append(row)
            print(f"  charlm T={T} B={B} H={H} {dtype_name}: rnnlib "
                  f"{row['rnnlib_chars_per_s']:,.0f} chars/s, PyTorch "
                  f"{row['torch_chars_per_s']:,.0f}", flush=True)

    if args.with_build:
        results["build"] = bench_build()
    if args.with_grading:
        # --quick: one assignment only, to check that the path works.
        results["grading"] = bench_grading(names=assignments()[:1] if quick else None)

    results["targets"] = [] if quick else check_targets(results["rnn"])
    results["machine"]["loadavg_end"] = loadavg()
    results["seconds"] = (_dt.datetime.now().astimezone() - started).total_seconds()

    args.out.mkdir(parents=True, exist_ok=True)
    stem = started.strftime("%Y-%m-%dT%H%M%S") + ("-quick" if quick else "")
    json_path = args.out / f"{stem}.json"
    png_path = args.out / f"{stem}.png"
    plot(results, png_path)
    results["plot"] = png_path.name
    tmp = json_path.with_suffix(".json.tmp")  # written whole, then renamed: never half a file
    tmp.write_text(json.dumps(results, indent=1) + "\n")
    tmp.replace(json_path)
    print_report(results)
    print(f"\nWrote {json_path} and {png_path.name} ({results['seconds']:.0f} s)")
    return results


if __name__ == "__main__":
    main()
