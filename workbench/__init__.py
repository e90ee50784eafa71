"""Workbench: a plugin-based experiment workbench for the ideas from the Transformer to ChatGPT.

Importing this package loads no plugin; :func:`workbench.registry.load_registry` does.
"""

__version__ = "0.1.0"

from workbench.hookspecs import hookimpl

__all__ = ["__version__", "hookimpl"]
