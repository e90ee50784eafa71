"""Operations the CLI and the dashboard share: one home for each, small modules with one job.

- :mod:`.datasets`: a dataset built from a config block (``{name: ..., option: value}``);
- :mod:`.evaluations`: an evaluation run on a finished run's loaded model, and stored;
- :mod:`.pairs`: prompts for comparison pairs, sampled pairs and policy-against-reference pairs,
  stored for labelling;
- :mod:`.labels`: preference labels exported as TRL JSONL.

A command and a tab call these and keep only what is theirs: parsing flags or reading widgets,
and printing or rendering. The modules import nothing heavy at import time (torch is imported
inside the functions that need it), so the CLI stays fast to start.

Errors a user can fix are :class:`OperationError` (a ``ValueError``: the CLI prints it as
``error: ...`` and exits 2; a tab shows its text).
"""

from __future__ import annotations


class OperationError(ValueError):
    """Something the user can fix: a bad dataset block, a run that does not fit, no prompts."""
