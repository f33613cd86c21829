"""Self-describing files of learned Q-tables (``tabturn learn --save-q``): the arrays and what they are.

An ``.npz`` with ``format = "tabturn-saved-q/1"`` holds, for B seeds:

- ``q``: float64 (B, S, A) for a stationary table or (B, H, S, A) for a step-indexed one, in objective units;
- ``greedy``: int64 (B, S) or (B, H, S), the learner's greedy actions (ties broken as the learner does);
- ``visits``: int64 like ``q``, how many updates training made to each entry;
- ``seeds``, ``base_seed``, ``kind`` ("stationary" or "step-indexed"), ``objective`` ("loss": greedy = min, or
  "reward": greedy = max), ``actions`` (names, MDP order), ``labels`` (JSON list of state labels, MDP order),
  ``horizon`` (-1 for none), ``settings`` and ``provenance`` (JSON).

Every array is a plain numpy array: ``np.load(path, allow_pickle=False)`` reads it without tabturn.
"""

from __future__ import annotations

import dataclasses
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tabturn.core.errors import InputError
from tabturn.core.limits import numpy_file_bytes, require
from tabturn.core.mdp import TabularMDP

FORMAT = "tabturn-saved-q/1"
KINDS = ("stationary", "step-indexed")


def label_json(label):
    """A state label as JSON-ready values (tuples become lists, numpy scalars Python ones)."""
    if isinstance(label, tuple):
        return [v.item() if isinstance(v, (np.integer, np.bool_)) else v for v in label]
    if isinstance(label, (np.integer, np.bool_)):
        return label.item()
    return label if isinstance(label, (int, str)) else str(label)


@dataclass(frozen=True)
class SavedTables:
    """The contents of a saved-q file (see the module docstring)."""

    kind: str
    q: np.ndarray
    greedy: np.ndarray
    visits: np.ndarray
    seeds: tuple[int, ...]
    base_seed: int
    objective: str
    actions: tuple[str, ...]
    labels: list
    horizon: int | None
    settings: dict

    def visited(self) -> np.ndarray:
        """(B, S) or (B, H, S) bool: whether training updated any action there."""
        return self.visits.sum(axis=-1) > 0

    def position(self, seed: int) -> int:
        """The index of ``seed`` along the seeds axis."""
        if seed not in self.seeds:
            shown = ", ".join(map(str, self.seeds[:8])) + (", ..." if len(self.seeds) > 8 else "")
            raise InputError("seed", f"{seed} is not in the file; its seeds are {shown}")
        return self.seeds.index(seed)


def tables_bytes(result, mdp: TabularMDP, provenance: dict | None = None) -> bytes:
    """The saved-q file of a LearnResult on ``mdp``."""
    settings = result.settings
    buffer = io.BytesIO()
    np.savez(
        buffer,
        format=np.asarray(FORMAT),
        kind=np.asarray("step-indexed" if settings.time_indexed else "stationary"),
        q=result.q,
        greedy=result.greedy(),
        visits=result.visits.astype(np.int64),
        seeds=np.asarray(result.seeds, dtype=np.int64),
        base_seed=np.asarray(result.base_seed, dtype=np.int64),
        objective=np.asarray("loss" if result.sign == 1 else "reward"),
        actions=np.asarray(mdp.action_names),
        labels=np.asarray(json.dumps([label_json(lab) for lab in mdp.state_labels])),
        horizon=np.asarray(settings.horizon if settings.time_indexed else -1, dtype=np.int64),
        settings=np.asarray(json.dumps(dataclasses.asdict(settings), default=str)),
        provenance=np.asarray(json.dumps(provenance or {}, default=str)),
    )
    return buffer.getvalue()


def is_saved_tables(path: str | Path) -> bool:
    """Whether ``path`` is an .npz written by ``tabturn learn --save-q`` (any version of the format)."""
    path = Path(path)
    if path.suffix != ".npz" or not path.is_file():
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return "format.npy" in archive.namelist()
    except zipfile.BadZipFile:
        return False


def load_tables(path: str | Path, mdp: TabularMDP | None = None) -> SavedTables:
    """Read a saved-q file; with ``mdp``, refuse one saved for different states or actions."""
    try:
        require("q", f"loading {Path(path).name}", numpy_file_bytes(path))  # from the headers, before reading
        data = np.load(path, allow_pickle=False)
        fields = {k: data[k] for k in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise InputError("q", f"{Path(path).name} is not a readable .npz ({exc})") from None
    version = str(fields.get("format", ""))
    if version != FORMAT:
        raise InputError("q", f"{Path(path).name} has format {version!r}; this tabturn reads {FORMAT!r}")
    try:
        kind = str(fields["kind"])
        saved = SavedTables(
            kind=kind,
            q=np.asarray(fields["q"], dtype=np.float64),
            greedy=np.asarray(fields["greedy"], dtype=np.int64),
            visits=np.asarray(fields["visits"], dtype=np.int64),
            seeds=tuple(int(s) for s in fields["seeds"]),
            base_seed=int(fields["base_seed"]),
            objective=str(fields["objective"]),
            actions=tuple(str(a) for a in fields["actions"]),
            labels=json.loads(str(fields["labels"])),
            horizon=None if int(fields["horizon"]) < 0 else int(fields["horizon"]),
            settings=json.loads(str(fields["settings"])),
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise InputError("q", f"{Path(path).name}: a saved-q file missing or garbling a field ({exc})") from None
    _check_shapes(saved, Path(path).name)
    if mdp is not None:
        _check_fits(saved, mdp, Path(path).name)
    return saved


def _check_shapes(saved: SavedTables, name: str) -> None:
    B = len(saved.seeds)
    rows = 3 if saved.kind == "stationary" else 4
    if saved.kind not in KINDS or saved.objective not in ("loss", "reward"):
        raise InputError("q", f"{name}: kind {saved.kind!r} / objective {saved.objective!r} not understood")
    if saved.q.ndim != rows or saved.q.shape[0] != B or saved.visits.shape != saved.q.shape:
        raise InputError("q", f"{name}: q {saved.q.shape} and visits do not fit {B} seeds of a {saved.kind} table")
    if saved.greedy.shape != saved.q.shape[:-1]:
        raise InputError("q", f"{name}: greedy {saved.greedy.shape} does not fit q {saved.q.shape}")


def _check_fits(saved: SavedTables, mdp: TabularMDP, name: str) -> None:
    if saved.actions != tuple(mdp.action_names):
        raise InputError(
            "q", f"{name} was saved for actions {', '.join(saved.actions)}, not {', '.join(mdp.action_names)}"
        )
    if saved.labels != [label_json(lab) for lab in mdp.state_labels]:
        raise InputError("q", f"{name} was saved for other states ({len(saved.labels)} labels; this MDP's differ)")
