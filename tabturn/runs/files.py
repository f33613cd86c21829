"""Atomic file output and provenance records."""

from __future__ import annotations

import json
import os
import platform
import secrets
from pathlib import Path
from typing import Any

import numpy as np


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` so that the file appears whole or not at all.

    An OSError names ``path`` (not the temporary file).
    """
    try:
        _write_atomic(Path(path), data)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None


def _write_atomic(path: Path, data: str | bytes) -> None:
    """write_atomic's body.

    The data goes to an anonymous file (O_TMPFILE) that is named only once it is complete and synced, then
    renamed over ``path``: a process killed while writing leaves nothing behind. Where O_TMPFILE is not
    available, a named hidden temp file is used instead (a kill can then leave a ``.NAME.*.tmp`` file).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(path.parent, os.O_TMPFILE | os.O_WRONLY, 0o666)  # the umask applies
    except (AttributeError, OSError):
        fd = None
    if fd is not None:
        try:
            _write_all(fd, payload)
            os.link(f"/proc/self/fd/{fd}", tmp)
        except OSError:
            os.close(fd)
            fd = None  # e.g. no /proc: fall back to a named temp file
        else:
            os.close(fd)
    if fd is None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            _write_all(fd, payload)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]
    os.fsync(fd)


def provenance(**extra) -> dict:
    """Version information for a written result (no timestamps: results stay byte-reproducible): tabturn,
    Python, numpy, scipy and numba (None when absent), and the SIMD extensions numpy found on this CPU."""
    from tabturn import __version__

    return {
        "tabturn_version": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": _version("scipy"),
        "numba": _version("numba"),
        "numpy_simd_found": numpy_simd_found(),
        **extra,
    }


def numpy_simd_found() -> list[str]:
    """The SIMD extensions numpy dispatches to on this CPU (its show_runtime "found" list)."""
    try:
        from numpy._core import _multiarray_umath as umath  # type: ignore[attr-defined]
    except ImportError:  # numpy < 2
        from numpy.core import _multiarray_umath as umath
    return [name for name in umath.__cpu_dispatch__ if umath.__cpu_features__.get(name)]


def _version(package: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def dumps(obj) -> str:
    """Deterministic JSON text (sorted keys are not used: field order is part of the format)."""
    return json.dumps(obj, indent=2) + "\n"


class DirectoryLock:
    """An exclusive advisory lock (flock) on an output directory itself, so no lock file is written: a second run
    on the same directory is refused in one line while the first holds it; the kernel drops the lock when its
    process dies, so a killed run never leaves the directory locked."""

    def __init__(self, directory: str | os.PathLike, flag: str = "--out"):
        self.directory, self.flag = Path(directory), flag
        self.handle: Any = None

    def __enter__(self) -> DirectoryLock:
        import fcntl

        from tabturn.core.errors import InputError

        self.directory.mkdir(parents=True, exist_ok=True)
        self.handle = os.open(self.directory, os.O_RDONLY)  # held open while the run lasts
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.handle)
            self.handle = None
            raise InputError(
                self.flag, f"{str(self.directory)!r} is in use by another tabturn run; wait for it or use another"
            ) from None
        return self

    def __exit__(self, *exc) -> None:
        if self.handle is not None:
            os.close(self.handle)
            self.handle = None


def die_with_parent() -> None:
    """In a worker process: ask Linux to send SIGTERM when the parent dies (a SIGKILLed run leaves no orphans);
    elsewhere a no-op."""
    import contextlib
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG = 1


def connect(client_class: Any, scheduler: str | None) -> Any:
    """A Dask client of ``scheduler``; an unreachable or malformed address is one InputError naming --scheduler."""
    from tabturn.core.errors import InputError

    try:
        return client_class(scheduler, timeout="10s")
    except (OSError, TimeoutError, ValueError) as exc:
        raise InputError("--scheduler", f"cannot connect to {scheduler!r}: {str(exc).splitlines()[0][:160]}") from None


class atomic_file:  # noqa: N801 - used like open()
    """``with atomic_file(path) as handle``: a text file written under a temporary name and renamed over ``path``
    only when the block finishes (fsynced); an exception or a kill leaves ``path`` untouched."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.tmp = self.path.parent / f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"

    def __enter__(self) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = open(self.tmp, "w", newline="", encoding="utf-8")  # noqa: SIM115 - closed in __exit__
        return self.handle

    def __exit__(self, kind, *rest) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()
        if kind is None:
            os.chmod(self.tmp, 0o666 & ~_umask())
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
