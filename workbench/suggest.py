"""Suggestions for misspelled names ("did you mean ...?"): a config field, a plugin, a hook."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The known name most like ``word`` (difflib's ratio of at least 0.6), or None."""
    matches = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"did you mean 'x'?"`` for the closest of ``choices``, or ``""`` when none is close."""
    match = closest(word, choices)
    return f"did you mean {match!r}?" if match is not None else ""
