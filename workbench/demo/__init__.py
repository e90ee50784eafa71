"""``workbench demo``: the whole line from the Transformer to RLHF in one command.

:mod:`.recipe` says what runs (the steps, their configs and how ``--minutes`` scales them),
:mod:`.execute` runs the steps as ordinary runs and evaluations, reusing what already succeeded
with the same config, and :mod:`.progress` draws the one progress display.
"""

from workbench.demo.recipe import DEFAULT_MINUTES, Step, recipe, step_keys

__all__ = ["DEFAULT_MINUTES", "Step", "recipe", "step_keys"]
