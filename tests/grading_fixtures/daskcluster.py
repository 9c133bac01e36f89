"""A real Dask cluster on loopback, for tests and the benchmark: one scheduler, N workers.

    with dask_cluster(workers=2) as c:   # c.address == "tcp://127.0.0.1:PORT"
        ...

Started with the ``dask`` command of this Python (``dask scheduler``, ``dask worker``), each
worker process with one thread; stopped by the PIDs started here, never by name.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["dask_cluster", "Cluster"]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, address, procs, env):
        self.address, self.procs, self.env = address, procs, env

@contextlib.contextmanager
def dask_cluster(workers=2, cwd=None, env=None):
    """Start ``dask scheduler`` and ``dask worker --nworkers workers`` on 127.0.0.1."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    env = dict(os.environ if env is None else env)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    logs = tempfile.mkdtemp(prefix="rnn-dask-")
    procs = []

    def start(cmd, name):
        log = open(os.path.join(logs, name), "wb")
        procs.append(subprocess.Popen(cmd, cwd=cwd, env=env, stdout=log, stderr=log,
                                      start_new_session=True))

    try:
        start([*dask, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], "scheduler")
        start([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers",
               str(workers), "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
               "--local-directory", logs], "workers")
        from distributed import Client

        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(address, timeout=5, set_as_default=False) as client:
                    client.wait_for_workers(workers, timeout=max(1, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Dask cluster did not start; logs in {logs}") from None
                time.sleep(0.5)
        yield Cluster(address, procs, env)
    finally:
        for p in reversed(procs):  # exactly the processes started here, and their groups
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in reversed(procs):
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        shutil.rmtree(logs, ignore_errors=True)
