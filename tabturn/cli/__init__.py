"""cli: the ``tabturn`` command (``commands``) and its text and JSON rendering (``render``).

The top layer: it may import every other layer; nothing of tabturn imports it. ``entry`` and ``main`` are served
here (``tabturn.cli:entry`` is the console script), imported on first use.
"""

from __future__ import annotations

import importlib


def __getattr__(name: str) -> object:
    commands = importlib.import_module("tabturn.cli.commands")
    try:
        return getattr(commands, name)
    except AttributeError:
        raise AttributeError(f"module 'tabturn.cli' has no attribute {name!r}") from None
