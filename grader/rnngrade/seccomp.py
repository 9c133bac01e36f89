"""No sockets but network ones inside the sandbox: ``python -I -c <this file> -- COMMAND...``.

The empty network namespace takes the network away (``AF_INET``, ``AF_INET6``), but not the
sockets that are files: a Unix socket anywhere on the (read-only) file system still accepts a
connection, because ``connect`` needs no write to the file system. On a grading machine such
a socket may be the gradebook's PostgreSQL (``/run/postgresql``, often ``trust`` for local
users), Docker's (``/var/run/docker.sock``: root on the machine), or the D-Bus of the user who
runs the grader (``/run/user/UID/bus``: ``systemd-run`` outside the sandbox). Other families
(``AF_VSOCK`` to the host of a virtual machine, ...) are not namespaced either.

So the confined command starts here: this installs a seccomp filter (kept by every process
it starts, impossible to remove) under which ``socket()`` works only for ``AF_INET`` and
``AF_INET6`` (useless in the empty namespace), any other family failing with ``EACCES``;
``io_uring_setup`` fails too (io_uring makes sockets without the ``socket`` system call), as
do the x32 system calls, and a system call of another architecture (32-bit) kills the process.
``socketpair`` (no peer outside) keeps working. Then it runs ``COMMAND``.
An architecture it does not know makes it fail: the judge then fails closed.
"""
from __future__ import annotations

import ctypes
import os
import platform
import struct
import sys

#: AUDIT_ARCH_* and the numbers of socket and io_uring_setup, per machine.
ARCHES = {"x86_64": (0xC000003E, 41, 425), "aarch64": (0xC00000B7, 198, 425)}
ALLOWED_FAMILIES = (2, 10)  # AF_INET, AF_INET6
EACCES = 13
_LD_W_ABS, _JEQ, _JGE, _RET = 0x20, 0x15, 0x35, 0x06
_ALLOW, _ERRNO, _KILL = 0x7FFF0000, 0x00050000, 0x80000000
PR_SET_NO_NEW_PRIVS, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 38, 22, 2


def program(machine=None):
    """The BPF program (``struct sock_filter[]``) as bytes."""
    arch, socket_nr, io_uring_nr = ARCHES[machine or platform.machine()]
    # seccomp_data: nr at 0, arch at 4, args[0] at 16 (its low 32 bits: little-endian).
    # Jump offsets count instructions after the next one: DENY is 10, ALLOW 11, KILL 12.
    ops = [
        (_LD_W_ABS, 0, 0, 4),
        (_JEQ, 0, 10, arch),              # another architecture: KILL
        (_LD_W_ABS, 0, 0, 0),
        (_JGE, 6, 0, 0x40000000),         # x32 system calls: DENY
        (_JEQ, 5, 0, io_uring_nr),        # DENY
        (_JEQ, 0, 5, socket_nr),          # not socket(): ALLOW
        (_LD_W_ABS, 0, 0, 16),
        (_JEQ, 3, 0, ALLOWED_FAMILIES[0]),  # ALLOW
        (_JEQ, 2, 0, ALLOWED_FAMILIES[1]),  # ALLOW
        (_JEQ, 0, 0, 0),                  # (falls through to DENY)
        (_RET, 0, 0, _ERRNO | EACCES),    # DENY
        (_RET, 0, 0, _ALLOW),             # ALLOW
        (_RET, 0, 0, _KILL),              # KILL
    ]
    return b"".join(struct.pack("HBBI", *op) for op in ops)


def install():
    """Install the filter in this process (and everything it starts)."""
    code = program()
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(code, len(code))

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = Prog(len(code) // 8, ctypes.addressof(buf))
    for args in ((PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0),
                 (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0)):
        if libc.prctl(*(ctypes.c_ulong(a) for a in args)) != 0:
            raise OSError(ctypes.get_errno(), f"prctl{args[:2]}: {os.strerror(ctypes.get_errno())}")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--"]:
        argv = argv[1:]
    try:
        install()
    except (KeyError, OSError, AttributeError) as err:
        sys.stderr.write(f"rnngrade.seccomp: cannot confine sockets on {platform.machine()}: "
                         f"{err!r}\n")
        sys.exit(70)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main()
