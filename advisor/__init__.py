"""tinyml-advisor: pick a TinyML framework, board and compression recipe, run it, report the risks."""

__version__ = "0.1.0"
