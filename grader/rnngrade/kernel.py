"""The confined kernel that ``nbgrader autograde`` runs (for the feedback notebook).

nbgrader's ``Execute`` preprocessor starts a kernel through a jupyter_client kernel manager.
:class:`ConfinedExecute` is ``Execute`` with :class:`ConfinedKernelManager`, which starts the
kernel inside the sandbox of :mod:`rnngrade.sandbox`. The kernel talks over IPC sockets
(files in a folder both sides can reach), because a kernel with no network namespace cannot
reach loopback TCP. It is interrupted by message (bubblewrap does not forward signals), and
its printed output is capped per cell. What the pipeline wants confined is passed in the
environment variable named by ``rnngrade.settings.CONFINE_ENV`` (JSON: folders to hide, limits).

This module imports nbgrader; it is used only by the pipeline's nbgrader subprocesses.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

from jupyter_client.manager import AsyncKernelManager
from nbgrader.preprocessors import Execute

from rnngrade.sandbox import Confinement, Limits
from rnngrade.settings import CONFINE_ENV as ENV, KERNEL_LOG_ENV, SEED_ENV, SOCKETS_ENV

__all__ = ["ConfinedKernelManager", "ConfinedExecute", "ENV"]


def _confinement():
    cfg = json.loads(os.environ.get(ENV, "{}") or "{}")
    limits = Limits(**cfg.get("limits", {}))
    return Confinement(hide=cfg.get("hide", []), limits=limits, enabled=cfg.get("enabled", True))


class ConfinedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs confined, on IPC sockets."""

    async def _async_pre_start_kernel(self, **kw):
        conf = _confinement()
        cwd = kw.get("cwd") or os.getcwd()
        # Under the folder the pipeline made for this nbgrader run (removed after it, even if
        # a dying kernel skips the shutdown below).
        sockets = tempfile.mkdtemp(prefix="k-", dir=os.environ.get(SOCKETS_ENV) or "/tmp")
        self._rnn_sockets = sockets
        self.transport = "ipc"
        self.ip = os.path.join(sockets, "k")
        self.connection_file = os.path.join(sockets, "kernel.json")
        self.kernel_spec.interrupt_mode = "message"
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        limit = int(conf.limits.output)
        setup = ("__import__('rnngrade.kernel_limits', fromlist=['install'])"
                 f".install({limit})")
        cmd = list(cmd) + [f"--IPKernelApp.exec_lines=[\"{setup}\"]"]
        # The kernel's own stdout/stderr (not the cells' output) go nowhere, or to a log file
        # when the variable KERNEL_LOG_ENV names one (for debugging the confinement).
        log = os.environ.get(KERNEL_LOG_ENV)
        sink = open(log, "ab") if log else subprocess.DEVNULL
        kw["stdout"] = sink
        kw["stderr"] = sink
        env = dict(kw.get("env") or os.environ)
        env.pop(SEED_ENV, None)
        env.pop(ENV, None)
        kw["env"] = env
        return conf.command(cmd, [cwd, sockets], cwd), kw

    async def shutdown_kernel(self, now=False, restart=False):
        try:
            await super().shutdown_kernel(now=now, restart=restart)
        finally:
            if not restart:  # the socket folder goes with the kernel
                shutil.rmtree(getattr(self, "_rnn_sockets", ""), ignore_errors=True)


class ConfinedExecute(Execute):
    """nbgrader's Execute preprocessor, with the kernel confined."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", ConfinedKernelManager)
        super().__init__(*args, **kwargs)
