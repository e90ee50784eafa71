"""Workbench: a plugin-based experiment workbench for the ideas from the Transformer to ChatGPT.

Importing this package loads no plugin (:func:`workbench.registry.load_registry` does) and
neither torch nor the store: the Python API (:mod:`workbench.api`: ``run``, ``load``, ``runs``,
``metrics``) is imported on first use, as ``workbench.run(...)``.
"""

from typing import Any

__version__ = "0.1.0"

from workbench.hookspecs import hookimpl

_API = frozenset({"Run", "load", "metrics", "run", "runs"})

__all__ = ["__version__", "hookimpl", *sorted(_API)]


def __getattr__(name: str) -> Any:
    if name in _API:
        from workbench import api

        return getattr(api, name)
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
