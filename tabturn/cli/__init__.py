"""cli: the ``tabturn`` command (``commands``) and its text and JSON rendering (``render``).

The top layer: it may import every other layer; nothing of tabturn imports it. ``entry`` and ``main`` are served
here (``tabturn.cli:entry`` is the console script), imported on first use.
"""

from tabturn._compat import served_names

__getattr__ = served_names("tabturn.cli", "tabturn.cli.commands")
