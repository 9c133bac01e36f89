"""The machine a benchmark ran on, recorded beside its numbers (one function for every benchmark).

``bench/run.py`` (rnnlib against PyTorch) and ``bench/grading.py`` (grading a class) both call
:func:`machine_info`, so their result files describe the machine the same way.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

__all__ = ["machine_info", "loadavg"]


def loadavg():
    """The 1, 5 and 15-minute load averages, or ``None`` where the OS has none."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def machine_info(**versions):
    """What the numbers depend on: CPU, cores, numpy and its BLAS, thread pools, load.

    ``versions`` adds the benchmark's own entries (``torch="2.13.0"``, ``nbgrader=...``).
    """
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        **versions,
        "env": {k: os.environ.get(k) for k in
                ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                 "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
        "loadavg_start": loadavg(),
    }
    try:
        config = np.show_config(mode="dicts")
        info["numpy_blas"] = config.get("Build Dependencies", {}).get("blas")
    except Exception as exc:  # older numpy: no dict mode
        info["numpy_blas"] = repr(exc)
    try:
        from threadpoolctl import threadpool_info

        info["threadpools"] = threadpool_info()
    except ImportError:
        info["threadpools"] = "threadpoolctl not installed (pip install threadpoolctl==3.8.0)"
    return info
