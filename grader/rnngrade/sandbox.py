"""Confinement for student code: bubblewrap for what it can see, prlimit for what it can use.

A confined process (the nbgrader kernel, or the judge's worker) is started as::

    bwrap --ro-bind / / --dev /dev --proc /proc --unshare-net --unshare-pid --die-with-parent
          --tmpfs <each hidden folder> --ro-bind <each needed folder back>
          --bind <its own work folder> <its own work folder> --chdir <work folder>
      prlimit --as=<memory> --cpu=<cpu seconds> --fsize=<file size> --core=0 --
      python ...

so it has no network (an empty network namespace: even loopback is down), it cannot write
anywhere but its own folder (the whole file system is read-only), and the course folder, the
grading folder (gradebook, other students), the submissions, ``/tmp`` and ``$HOME`` read as
empty folders. Only the Python installation and the ``rnnlib`` package are mounted back,
read-only. Memory, CPU time and file size are kernel-enforced limits: a memory bomb gets a
``MemoryError``, a busy loop a ``SIGXCPU`` (and ``SIGKILL`` 5 s later).

What this does *not* protect against (see the instructors' page): kernel exploits, reading
world-readable files elsewhere on the machine (``/etc``, other users' homes if readable), CPU
and memory pressure on the machine below the limits, or a student copying the public
reference code into their answer. Confinement keeps the grader and the other students safe;
the trusted score comes from the judge (:mod:`rnngrade.judge`), not from the kernel. There is
no limit on the number of processes yet.
"""
from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from pathlib import Path

from rnngrade.settings import SEED_ENV

__all__ = ["Limits", "Confinement", "available"]


@dataclasses.dataclass
class Limits:
    """Resource limits for one student's notebook (safe defaults; all configurable).

    Attributes
    ----------
    cell_timeout : float
        Seconds one cell (or one test cell's checks) may run.
    memory : int
        Address-space limit of the student's process, in bytes.
    cpu : int
        CPU seconds for the whole process (a kernel or worker that uses more is killed).
    file_size : int
        Largest file the student's process may write, in bytes.
    output : int
        Characters of printed output kept per cell in the kernel (the rest is dropped).
    """

    cell_timeout: float = 30.0
    memory: int = 2 * 2**30
    cpu: int = 300
    file_size: int = 64 * 2**20
    output: int = 100_000

    def as_dict(self):
        return dataclasses.asdict(self)


def available():
    """``True`` when bubblewrap and prlimit can confine a process on this machine."""
    return shutil.which("bwrap") is not None and shutil.which("prlimit") is not None


def _under(path, parent):
    try:
        Path(path).relative_to(parent)
        return True
    except ValueError:
        return False


@dataclasses.dataclass
class Confinement:
    """Which folders a confined process may not see, and which it may use.

    Parameters
    ----------
    hide : list of str
        Folders that read as empty (course, grading folder, submissions, /tmp, $HOME).
    limits : Limits
    enabled : bool
        ``False`` runs student code unconfined (only for machines without bubblewrap; the
        command refuses this unless asked with ``--no-confine``).
    """

    hide: list
    limits: Limits = dataclasses.field(default_factory=Limits)
    enabled: bool = True

    def needed(self):
        """Folders mounted back read-only: the Python installation, rnnlib and rnngrade."""
        import rnnlib

        import rnngrade

        paths = {sys.prefix, sys.base_prefix, str(Path(rnnlib.__file__).resolve().parent),
                 str(Path(rnngrade.__file__).resolve().parent)}
        paths.update(p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p)
        return sorted(paths)

    def command(self, argv, workdirs, cwd):
        """The command line that runs ``argv`` confined, writable only in ``workdirs``."""
        if not self.enabled:
            return list(argv)
        lim = self.limits
        hide = sorted({str(Path(h).resolve()) for h in self.hide if h and os.path.isdir(h)},
                      key=len)
        cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--unshare-net", "--unshare-pid", "--unshare-ipc", "--die-with-parent",
               "--new-session"]
        for h in hide:
            cmd += ["--tmpfs", h]
        for p in self.needed():
            rp = str(Path(p).resolve())
            if any(_under(rp, h) for h in hide):
                cmd += ["--ro-bind", rp, rp]
        for w in workdirs:
            rw = str(Path(w).resolve())
            cmd += ["--bind", rw, rw]
        for h in hide:
            # The empty folders are read-only too (a tmpfs would take writes into memory).
            cmd += ["--remount-ro", h]
        cmd += ["--chdir", str(Path(cwd).resolve()),
                "--setenv", "HOME", str(Path(cwd).resolve()),
                "--setenv", "MPLBACKEND", "Agg",
                "--setenv", "MALLOC_ARENA_MAX", "2",
                "--setenv", "OPENBLAS_NUM_THREADS", "1",
                "--setenv", "OMP_NUM_THREADS", "1",
                "--unsetenv", SEED_ENV,
                # ipykernel watches this pid to exit with its parent; in the sandbox's pid
                # namespace it would think the parent died (--die-with-parent does that job).
                "--unsetenv", "JPY_PARENT_PID"]
        cmd += ["prlimit", f"--as={int(lim.memory)}", f"--cpu={int(lim.cpu)}:{int(lim.cpu) + 5}",
                f"--fsize={int(lim.file_size)}", "--core=0", "--"]
        return cmd + list(argv)
