"""tabturn: exact analysis of tabular reinforcement-learning toys, starting with the treacherous turn."""

__version__ = "0.1.0"
