"""The over-optimisation curve (Gao et al. 2022): gold and proxy reward against KL during PPO.

Every ``curve_interval`` rollouts, the policy answers the same held-out prompts with the same
sampling seeds (``curve_samples`` answers each); the probe measures the KL to the reference per
answer, the reward model's mean score (the proxy the policy is optimised for) and the gold judge's
mean score (the labeller's rule), and the gold and proxy win rates against the reference's answers
to the same prompts and seeds. Plotted against KL (or sqrt KL), the proxy keeps rising while the
gold levels off and, when the KL is not held back, turns down: the reward model is only an
approximation of the labeller.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from workbench_rlhf.gold import GoldJudge, mean_and_standard_error, proxy_outcomes
from workbench_rlhf.rollout import SampledAnswers, sample_answers, score_answers
from workbench_rlhf.sequences import Encoded, pad_batch


class OverOptimisationProbe:
    """Measures one point of the curve; the reference's answers are sampled once and kept."""

    def __init__(
        self,
        prompts: list[str],
        properties: list[dict[str, Any]] | None,
        judge: GoldJudge | None,
        tokenizer: Any,
        *,
        samples: int,
        seed: int,
        max_new_tokens: int,
        stop_text: str,
        temperature: float,
    ):
        self.prompts = prompts * samples
        self.properties = properties * samples if properties else None
        self.judge = judge if properties else None
        self.tokenizer, self.seed, self.temperature = tokenizer, seed, temperature
        self.sampling = {
            "max_new_tokens": max_new_tokens,
            "stop_text": stop_text,
            "temperature": temperature,
        }
        self.stop = tokenizer.encode(stop_text) if stop_text else []
        self._reference: tuple[SampledAnswers, torch.Tensor] | None = None

    def _answers(self, model: torch.nn.Module, device: torch.device) -> SampledAnswers:
        return sample_answers(
            model, self.tokenizer, self.prompts, seed=self.seed, device=device, **self.sampling
        )

    @torch.no_grad()
    def measure(
        self,
        policy: torch.nn.Module,
        reference: torch.nn.Module,
        reward: Any,
        logprobs: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor],
        device: torch.device,
        batch_size: int = 64,
    ) -> dict[str, float]:
        """``logprobs(model, ids)`` gives per-target log-probabilities at the rollouts'
        temperature. Returns ``kl``, ``sqrt_kl``, ``proxy``, ``proxy_win`` and, with a judge,
        ``gold`` (with its standard error ``gold_se``) and ``gold_win``."""
        was_training = policy.training
        policy.eval()
        try:
            if self._reference is None:
                ref = self._answers(reference, device)
                self._reference = (ref, score_answers(reward, ref, self.stop, batch_size, device))
            ref_answers, ref_scores = self._reference
            answers = self._answers(policy, device)
            scores = score_answers(reward, answers, self.stop, batch_size, device)
            kl = 0.0
            rows = [
                Encoded([*p, *r.tokens], len(p))
                for p, r in zip(answers.prompts, answers.responses, strict=True)
            ]
            for start in range(0, len(rows), batch_size):
                batch = pad_batch(rows[start : start + batch_size]).to(device)
                diff = logprobs(policy, batch.ids) - logprobs(reference, batch.ids)
                kl += float((diff * batch.completion_mask).sum())
        finally:
            policy.train(was_training)
        kl /= len(rows)
        out = {
            "kl": kl,
            "sqrt_kl": math.sqrt(max(kl, 0.0)),
            "proxy": float(scores.mean()),
            "proxy_win": _mean(proxy_outcomes(scores.tolist(), ref_scores.tolist())),
        }
        if self.judge is not None and self.properties is not None:
            judge, props = self.judge, self.properties
            if judge.scores:
                texts = zip(self.prompts, answers.texts, props, strict=True)
                golds = [judge.score(*x) for x in texts]
                out["gold"], out["gold_se"] = mean_and_standard_error(golds)
            out["gold_win"] = _mean(
                [
                    judge.outcome(p, a, b, pr)
                    for p, a, b, pr in zip(
                        self.prompts, answers.texts, ref_answers.texts, props, strict=True
                    )
                ]
            )
        return out


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)
