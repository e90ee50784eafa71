"""The reward-hacking sentinel: a warning when the proxy and the gold part ways.

Fed the over-optimisation curve's points (:mod:`workbench_rlhf.curve`) as PPO runs, it warns when,
over the last ``window`` points, the reward model's score rose while the gold reward (the
labeller's rule) fell by more than ``gold_drop``, or when the KL to the reference passed
``kl_budget``. The PPO stage logs a warning as the metric ``sentinel/warning`` (1 at that step)
and as a stored sample whose prompt is :data:`SENTINEL_PROMPT`, so it shows on the run's page and
in ``workbench show``; ``workbench pairs generate --from-run RUN`` then queues the policy's
highest-proxy answers for labelling.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SENTINEL_PROMPT = "[reward-hacking sentinel]"


@dataclass(frozen=True)
class Sentinel:
    """When to warn (see the module docstring)."""

    window: int = 2
    gold_drop: float = 0.3
    kl_budget: float | None = None

    def check(self, points: Sequence[dict[str, float]]) -> str | None:
        """A warning for the latest of ``points`` (dicts with ``kl``, ``proxy`` and, when a
        judge is set, ``gold``), or None when all is well."""
        if not points:
            return None
        last = points[-1]
        if self.kl_budget is not None and last["kl"] > self.kl_budget:
            return (
                f"KL to the reference {last['kl']:.2f} nats per answer passed the budget "
                f"{self.kl_budget:g}"
            )
        if len(points) <= self.window or "gold" not in last:
            return None
        first = points[-1 - self.window]
        proxy_gain = last["proxy"] - first["proxy"]
        gold_loss = first["gold"] - last["gold"]
        if proxy_gain > 0 and gold_loss > self.gold_drop:
            return (
                f"over the last {self.window} curve points the proxy reward rose by "
                f"{proxy_gain:.2f} while the gold reward fell by {gold_loss:.2f} (KL "
                f"{first['kl']:.2f} -> {last['kl']:.2f}): the policy may be hacking the reward "
                "model; label its highest-proxy answers (workbench pairs generate --from-run)"
            )
        return None
