"""A throwaway PostgreSQL server on loopback, for tests and the benchmark.

    with postgres_server() as url:  # postgresql+psycopg2://grader@127.0.0.1:PORT/grading
        ...

``initdb`` and ``pg_ctl`` come from ``/usr/lib/postgresql/*/bin`` (Debian's layout) or PATH.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` user (created
by the Debian package) in a folder it owns.
"""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile

__all__ = ["find_bin", "postgres_server"]


def find_bin():
    """The folder holding ``initdb`` and ``pg_ctl``, or ``None``."""
    for d in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def postgres_server(database="grading"):
    """Start PostgreSQL on 127.0.0.1 in a temporary folder; yield its SQLAlchemy URL (psycopg2 driver)."""
    bindir = find_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found")
    root = os.geteuid() == 0
    base = tempfile.mkdtemp(prefix="rnn-pg-", dir="/tmp")
    os.chmod(base, 0o755)
    data, sock = os.path.join(base, "data"), os.path.join(base, "sock")
    os.makedirs(sock)
    prefix = []
    if root:
        import pwd

        pw = pwd.getpwnam("postgres")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        os.chown(sock, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    port = _free_port()

    def run(*cmd):
        subprocess.run(prefix + list(cmd), check=True, capture_output=True, cwd=base)

    run(f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "grader", "--no-sync")
    run(f"{bindir}/pg_ctl", "-D", data, "-l", os.path.join(base, "log"), "-w", "-o",
        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        run(f"{bindir}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "grader", database)
        yield f"postgresql+psycopg2://grader@127.0.0.1:{port}/{database}"
    finally:
        subprocess.run(prefix + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                       capture_output=True, cwd=base)
        shutil.rmtree(base, ignore_errors=True)
