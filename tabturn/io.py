"""Atomic file output and provenance records."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from pathlib import Path

import numpy as np


def write_atomic(path: str | os.PathLike, data: str | bytes) -> None:
    """Write ``data`` to ``path`` so that the file appears whole or not at all (temp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": "\n"})) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def provenance(**extra) -> dict:
    """Version information for a written result (no timestamps: results stay byte-reproducible)."""
    from tabturn import __version__

    return {"tabturn_version": __version__, "python": platform.python_version(), "numpy": np.__version__, **extra}


def dumps(obj) -> str:
    """Deterministic JSON text (sorted keys are not used: field order is part of the format)."""
    return json.dumps(obj, indent=2) + "\n"
