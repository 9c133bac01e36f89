"""Confinement for student code: bubblewrap for what it can see, limits for what it can use.

The judge's worker (the only process that runs a student's code) is started as::

    bwrap --ro-bind / / --dev /dev --proc /proc --unshare-net --unshare-pid --unshare-ipc
          --unshare-uts --unshare-cgroup-try --die-with-parent --new-session --clearenv
          --tmpfs <each hidden folder> --ro-bind <each needed folder back>
          --size <disk> --perms 1777 --tmpfs <its own folder> --chdir <its own folder>
          [as root:     setpriv --reuid=U --regid=U --clear-groups --inh-caps=-all
                                --bounding-set=-all --no-new-privs --]
          [not root:    --unshare-user --disable-userns --cap-drop ALL]
      prlimit --as=<memory> --cpu=<cpu seconds> --fsize=<file size> --nproc=<processes>
              --nofile=<files> --core=0 --
      python -I -c <rnngrade/seccomp.py> --   (no socket but AF_INET/AF_INET6: see rnngrade.seccomp)
      python -s -m rnngrade.worker ...

so it has no network (a network namespace of its own, whose only interface is its own
loopback; and no Unix
socket of the machine: a seccomp filter refuses every socket family but the network's), it cannot write
anywhere but its own folder (the whole file system is read-only; its folder is an empty file
system in memory of at most ``disk`` bytes, so it cannot fill the machine's disk), and the
course folder, the
grading folder (gradebook, other students), the submissions, ``/tmp`` and ``$HOME`` read as
empty folders. Only the Python installation, ``rnnlib`` and ``rnngrade`` are mounted back,
read-only. Its environment is empty but for a few fixed variables (no secret of the grader's
environment reaches it), and it sees no process but its own (a PID namespace).

It runs **without privileges whoever runs the grader**. As root, bubblewrap would keep root's
capabilities inside the sandbox, so the command switches to an unprivileged user id of its
own (:func:`sandbox_uid`: a number no account uses, two per grading process, so no other
process on the machine shares it) with no capabilities, no way to regain them
(``no_new_privs``) and no supplementary groups. As an ordinary user, bubblewrap puts the
process in a new user namespace with every capability dropped and no further user
namespaces allowed.

Memory, CPU time, file size, open files and processes are kernel-enforced limits: a memory
bomb gets a ``MemoryError``, a busy loop ``SIGXCPU`` (``SIGKILL`` 5 s later), a fork bomb
``BlockingIOError`` once it holds ``nproc`` processes. RLIMIT_NPROC counts the processes
(and threads) of a *real* user id, and the kernel never applies it to root: that is why the
sandboxed user id is never 0 and, as root, is a user id of the sandbox's own (two per grading
process, used in turn: the notebook being judged and the next one's worker, started ahead,
never share a count); as an ordinary user, the new user namespace counts only the sandbox's
own processes. When the worker ends,
its PID namespace ends with it, so nothing a student started survives the notebook.

What this does *not* protect against (see the instructors' page): kernel exploits, reading
world-readable files elsewhere on the machine (``/etc``, other users' readable files), CPU
and memory pressure on the machine below the limits, or a student copying the public
reference code into their answer. Confinement keeps the grader and the other students safe;
the trusted score comes from the judge (:mod:`rnngrade.judge`), not from the student's process.
"""
from __future__ import annotations

import compileall
import contextlib
import dataclasses
import functools
import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from rnngrade.settings import EXECUTION_ENV, GRADING_ENV

__all__ = ["Limits", "Confinement", "available", "sandbox_uid", "prepare_workdir"]

#: User ids handed to sandboxes when the grader runs as root: SANDBOX_UID_BASE + twice the
#: grading process's pid + 0 or 1 (unique among live processes, far above any account's uid).
SANDBOX_UID_BASE = 1_500_000_000

#: The only environment a student's process gets.
SANDBOX_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "MPLBACKEND": "Agg",
    "MALLOC_ARENA_MAX": "2",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    # "Being graded": rnnlib.checks.grading() is true, demonstrations run smaller (never scores).
    GRADING_ENV: "1",
    # nbgrader's own signal to notebooks, the same news for notebooks that read it.
    EXECUTION_ENV: "autograde",
}


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
        CPU seconds for the whole process (a worker that uses more is killed).
    file_size : int
        Largest file the student's process may write, in bytes.
    output : int
        Characters of printed output kept per cell in the feedback (the rest is dropped).
    nproc : int
        Processes and threads the student's code may hold at once (its worker included).
    disk : int
        Bytes the student's code may write in all (its folder is a memory file system of
        this size, never the machine's disk).
    notebook_timeout : float
        Seconds the whole notebook may take (its cells, its test cells' checks, restarts
        after crashes): many slow cells cannot hold a grader for hours.
    """

    cell_timeout: float = 30.0
    memory: int = 2 * 2**30
    cpu: int = 300
    file_size: int = 64 * 2**20
    output: int = 100_000
    nproc: int = 32
    disk: int = 256 * 2**20
    notebook_timeout: float = 900.0

    def as_dict(self):
        return dataclasses.asdict(self)


def available():
    """``True`` when bubblewrap, prlimit (and, as root, setpriv) can confine a process here."""
    tools = ["bwrap", "prlimit"] + (["setpriv"] if os.geteuid() == 0 else [])
    return all(shutil.which(t) is not None for t in tools)


def sandbox_uid(slot=0):
    """The user id student code runs as: this process's own when it is not root, else a
    user id of the sandbox's own (see the module's docstring), ``slot`` 0 or 1."""
    uid = os.geteuid()
    return uid if uid != 0 else SANDBOX_UID_BASE + 2 * os.getpid() + slot


def prepare_workdir(path, slot=0):
    """Make ``path`` the sandbox's own folder: writable by the sandboxed user only."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    uid = sandbox_uid(slot)
    if os.geteuid() == 0:
        os.chown(path, uid, uid)
    os.chmod(path, 0o700)
    return path


def _under(path, parent):
    try:
        Path(path).relative_to(parent)
        return True
    except ValueError:
        return False


def package_dirs():
    """The folders of the rnnlib and rnngrade the grader itself imported (the worker's too)."""
    import rnnlib

    import rnngrade

    return [str(Path(m.__file__).resolve().parent) for m in (rnnlib, rnngrade)]


@functools.lru_cache(maxsize=1)
def compile_packages():
    """Byte-compile rnnlib and rnngrade where they are, once per process.

    The sandbox mounts them read-only and never writes compiled files: a worker that finds
    none compiles every module of both at each start (about 0.1 s, a tenth of a start), as
    when the course's folder is used with ``PYTHONDONTWRITEBYTECODE``. Python writes the same
    ``__pycache__`` files when it may; where the grader may not write, nothing changes.
    """
    for folder in package_dirs():
        with contextlib.suppress(OSError):
            compileall.compile_dir(folder, quiet=2, workers=1)


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
    slot : int
        Which of the grading process's two sandbox user ids (as root) it runs as, 0 or 1.
    """

    hide: list
    limits: Limits = dataclasses.field(default_factory=Limits)
    enabled: bool = True
    slot: int = 0

    def needed(self):
        """Folders mounted back read-only: the Python installation, rnnlib and rnngrade."""
        paths = {sys.prefix, sys.base_prefix, *package_dirs()}
        paths.update(p for p in sys.path if p and os.path.isdir(p) and "site-packages" in p)
        return sorted(paths)

    def hidden(self):
        """The folders to hide: those asked, ``$HOME`` and the temporary folder always, and any
        folder on the way to Python or rnnlib that the sandboxed user could not pass through
        (``/root`` holding a pyenv Python, say): it becomes an empty, passable folder into
        which the needed folders are mounted back."""
        hide = set(self.hide) | {str(Path.home()), tempfile.gettempdir()}
        for p in self.needed():
            for parent in Path(p).resolve().parents:
                try:
                    if not parent.stat().st_mode & stat.S_IXOTH:
                        hide.add(str(parent))
                except OSError:
                    pass
        return sorted(hide)

    def python_path(self):
        """``PYTHONPATH`` for the worker: the parents of the grader's own rnnlib and rnngrade.

        The worker imports exactly the packages the judge imported, whatever is installed
        (an editable install of another checkout, say); only the packages themselves are
        mounted, never the rest of their parent folder (the course, with its solutions).
        """
        return os.pathsep.join(dict.fromkeys(str(Path(d).parent) for d in package_dirs()))

    def environment(self):
        return dict(SANDBOX_ENV, PYTHONPATH=self.python_path())

    def command(self, argv, workdirs, cwd):
        """The command line that runs ``argv`` confined, writable only in ``workdirs``."""
        if not self.enabled:
            return list(argv)
        lim = self.limits
        hide = sorted({str(Path(h).resolve()) for h in self.hidden() if h and os.path.isdir(h)},
                      key=len)
        cmd = ["bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
               "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
               "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--clearenv"]
        root = os.geteuid() == 0
        if not root:
            cmd += ["--unshare-user", "--disable-userns", "--cap-drop", "ALL"]
        for h in hide:
            cmd += ["--tmpfs", h]
        made = set()
        for p in self.needed():
            rp = str(Path(p).resolve())
            under = [h for h in hide if _under(rp, h)]
            if under:
                # Folders on the way are made readable (bubblewrap would make them 0700,
                # closed to the unprivileged user), then the needed folder mounted back.
                top = Path(max(under, key=len))
                for parent in reversed(Path(rp).relative_to(top).parents[:-1]):
                    d = str(top / parent)
                    if d not in made:
                        made.add(d)
                        cmd += ["--dir", d]
                cmd += ["--ro-bind", rp, rp]
        for w in workdirs:
            # Its own folder: an empty file system in memory, capped at lim.disk, writable by
            # the sandboxed user; nothing it writes reaches the machine's disk.
            rw = str(Path(w).resolve())
            cmd += ["--size", str(int(lim.disk)), "--perms", "1777", "--tmpfs", rw]
        for h in hide:
            # The empty folders are read-only too (a tmpfs would take writes into memory).
            cmd += ["--remount-ro", h]
        cwd = str(Path(cwd).resolve())
        env = dict(self.environment(), HOME=cwd, MPLCONFIGDIR=cwd)
        cmd += ["--chdir", cwd]
        for k, v in sorted(env.items()):
            cmd += ["--setenv", k, v]
        if root:
            uid = str(sandbox_uid(self.slot))
            cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                    "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        cmd += ["prlimit", f"--as={int(lim.memory)}", f"--cpu={int(lim.cpu)}:{int(lim.cpu) + 5}",
                f"--fsize={int(lim.file_size)}", f"--nproc={int(lim.nproc)}", "--nofile=256",
                "--core=0", "--"]
        # The network namespace does not cover sockets that are files (the gradebook's
        # PostgreSQL, Docker's, the user's D-Bus): a seccomp filter refuses them (seccomp.py).
        # Its source is passed on the command line (it needs only the standard library), run by
        # the command's own Python when it is one: that Python is mounted in the sandbox, but
        # need not have rnngrade installed nor see rnngrade's folder.
        python = argv[0] if Path(argv[0]).name.startswith("python") else sys.executable
        source = Path(__file__).with_name("seccomp.py").read_text()
        cmd += [python, "-I", "-c", source, "--"]
        return cmd + list(argv)
