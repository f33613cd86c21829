"""The numeric limits every layer shares, and the one resource estimator every command consults before it
allocates or loops (it imports only tabturn.core.errors: any module may use it).

INT64_SAFE: exact integer arithmetic stays in int64 while every magnitude is below it (sums of two such values
cannot overflow); beyond it, Python integers (object arrays) take over. MAX_TABLE_BYTES: the largest table
(action sets, Q-tables and visit counts) a solver or learner allocates before refusing with a clear message.

The estimator (``require``) takes a run's memory in bytes and its work in elementary steps and refuses, naming
the field, when either is over its limit:

    memory = the bytes of the tables the run holds at once (e.g. H x S x mask bytes for the optimal action sets;
             seeds x rows x A x 8 x tables for Q-learners; (episodes x steps) x 64 for a mesa agent's data)
    work   = the elementary steps it takes (H x (S x A + LOOP_OVERHEAD) for backward induction, where
             LOOP_OVERHEAD counts a Python-level step as that many array elements; seeds x episodes x H for
             learners; episodes x steps x PYTHON_STEP for a Python loop)

with MAX_TABLE_BYTES (or TABTURN_MEMORY_LIMIT_GIB) and MAX_WORK (about half an hour on one core). Files are read
through ``read_bounded`` (at most MAX_FILE_BYTES; /dev/zero is refused, not read forever) and numpy files are
checked by their headers (``numpy_file_bytes``) before any array is read.
"""

from __future__ import annotations

import os
from typing import Any

from tabturn.core.errors import InputError

INT64_SAFE = 2**62
MAX_TABLE_BYTES = 8 << 30
MAX_WORK = 10**11  # elementary steps: array elements touched, or learner steps
LOOP_OVERHEAD = 5_000  # a Python-level loop iteration, in array elements
PYTHON_STEP = 100  # one step of a pure-Python loop (e.g. a mesa data step), in elementary steps
MAX_FILE_BYTES = 256 << 20  # a config, design, sweep file or CSV/Parquet/numpy policy
GRIDWORLD_STATE_BYTES = 4_000  # measured: a 300 x 300 map (90,000 states) builds and solves in 0.3 GB...
GRIDWORLD_STATE_WORK = 40_000  # ...and about 70 s on one core, i.e. ~0.8 ms (~4e4 steps) per state


def memory_limit() -> int:
    """Bytes a run may hold: TABTURN_MEMORY_LIMIT_GIB if set, else MAX_TABLE_BYTES."""
    text = os.environ.get("TABTURN_MEMORY_LIMIT_GIB")
    try:
        return int(float(text) * 2**30) if text else MAX_TABLE_BYTES
    except ValueError:
        return MAX_TABLE_BYTES


def require(field: str, what: str, nbytes: int = 0, work: int = 0) -> None:
    """Refuse (InputError naming ``field``) a run of ``what`` needing ``nbytes`` bytes or ``work`` steps over
    the limits; the message gives the estimate and the limit."""
    limit = memory_limit()
    if nbytes > limit:
        raise InputError(
            field, f"{what} would need about {nbytes / 2**30:.1f} GiB; the limit is {limit / 2**30:.0f} GiB"
        )
    if work > MAX_WORK:
        raise InputError(field, f"{what} would take about {work:.1e} steps; the limit is {MAX_WORK:.0e}")


def solve_needs(states: int, actions: int, horizon: int, mask_bytes: int = 1) -> tuple[int, int]:
    """(bytes, work) of exact backward induction over ``horizon`` steps."""
    return horizon * states * mask_bytes + 8 * 8 * states * actions, horizon * (states * actions + LOOP_OVERHEAD)


def read_bounded(path: str | os.PathLike[str], field: str, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of a file, refusing one larger than ``limit`` (read at most limit + 1 bytes: a device such as
    /dev/zero is refused, not read forever). OSError propagates for the caller's message."""
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError(field, f"{os.fspath(path)!r} is larger than {limit >> 20} MiB; not read")
    return data


def numpy_file_bytes(path: str | os.PathLike[str]) -> int:
    """The bytes numpy would allocate to load an .npy, or every member of an .npz (uncompressed sizes from the
    zip directory, array sizes from the .npy headers), without reading any array; 0 for a file that is neither.
    ValueError (or zipfile.BadZipFile) if a header is unreadable."""
    import zipfile

    import numpy as np

    def header_bytes(handle: Any) -> int:
        version = np.lib.format.read_magic(handle)
        reader = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = reader(handle, max_header_size=10_000)
        count = 1
        for n in shape:
            count *= int(n)
        return count * max(1, dtype.itemsize)

    path = os.fspath(path)
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if magic[:2] != b"PK" and magic != b"\x93NUMPY":
        return 0  # neither a zip nor an .npy: numpy's own reader says what it is not
    if magic[:2] == b"PK":
        total = 0
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                total += info.file_size  # the uncompressed size: a zip bomb is caught here
                if info.file_size > memory_limit():
                    return total
                with archive.open(info) as member:
                    total += header_bytes(member)
        return total
    with open(path, "rb") as handle:
        return header_bytes(handle)
