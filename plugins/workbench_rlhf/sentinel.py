"""The reward-hacking sentinel: a warning when the proxy and the gold part ways.

Fed the over-optimisation curve's points (:mod:`workbench_rlhf.curve`) as PPO runs, it warns when
the gold reward (the labeller's rule) has fallen more than ``gold_drop`` below its best point so
far while the reward model's score is above its value at that point (the proxy kept rising after
the gold turned down: Gao et al.'s picture), or when the KL to the reference passed
``kl_budget``. Comparing with the best point rather than a fixed window catches a slow slide that
no two nearby, noisy points show. When the points carry the standard error of their gold mean
(``gold_se``), a fall counts only if it is also more than twice the standard error of the
difference: a curve point is the mean over a few dozen answers, whose gold varies by several
points, so a fall of ``gold_drop`` alone is often noise (the shipped PPO run warned four times
with no fall in its win rate before this). The PPO stage logs a warning as the metric ``sentinel/warning`` (1 at that step)
and as a stored sample whose prompt is :data:`SENTINEL_PROMPT`, so it shows on the run's page and
in ``workbench show``; ``workbench pairs generate --from-run RUN`` then queues the policy's
highest-proxy answers for labelling.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SENTINEL_PROMPT = "[reward-hacking sentinel]"


@dataclass(frozen=True)
class Sentinel:
    """When to warn (see the module docstring)."""

    gold_drop: float = 0.2
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
        if "gold" not in last:
            return None
        best = max(points, key=lambda p: p["gold"])
        proxy_gain = last["proxy"] - best["proxy"]
        gold_loss = best["gold"] - last["gold"]
        noise = 2.0 * math.hypot(best.get("gold_se", 0.0), last.get("gold_se", 0.0))
        if proxy_gain > 0 and gold_loss > max(self.gold_drop, noise):
            return (
                f"the gold reward fell by {gold_loss:.2f} from its best ({best['gold']:.2f} at KL "
                f"{best['kl']:.2f}) while the proxy reward rose by {proxy_gain:.2f} (KL now "
                f"{last['kl']:.2f}): the policy may be hacking the reward model; label its "
                "highest-proxy answers (workbench pairs generate --from-run)"
            )
        return None
