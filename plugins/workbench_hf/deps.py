"""Lazy imports of the optional ``hf`` extra (transformers, safetensors).

The plugin loads without them: only building an ``hf-causal-lm`` model, an ``hf`` tokenizer or an
export imports them, and a missing package is reported with the extra that installs it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRA_HINT = "pip install 'workbench[hf]'"


class MissingExtraError(ValueError):
    """A package of the ``hf`` extra is not installed (a ``ValueError``, so the CLI exits 2)."""


def require(module: str, needed_for: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(
            f"{needed_for} needs the Python package {module.split('.')[0]!r}, which is not "
            f"installed: {EXTRA_HINT}"
        ) from error


def transformers(needed_for: str) -> ModuleType:
    """The ``transformers`` module."""
    return require("transformers", needed_for)


def safetensors_torch(needed_for: str) -> ModuleType:
    """The ``safetensors.torch`` module."""
    return require("safetensors.torch", needed_for)
