"""Sampling responses to prompts of different lengths from a causal LM.

The ``causal-lm`` protocol's ``generate`` continues a batch of *equal-length* prompts (learned
absolute positions and no attention mask: left padding would shift positions and let padding be
attended to). So prompts are grouped by token length and each group is generated as one batch;
results come back in the original order. Each response is cut at the stop text (a newline ends a
dialogue answer); a response that stopped keeps the stop tokens, which the policy did sample.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from workbench_rlhf.sequences import Encoded, pad_batch


@dataclass(frozen=True)
class Response:
    tokens: list[int]
    """The sampled tokens, with the stop tokens at the end when the response finished."""
    finished: bool
    """Whether it stopped at the stop text (rather than running out of tokens)."""


def fit_prompt(prompt: list[int], block_size: int, max_new_tokens: int) -> list[int]:
    """Keep the end of ``prompt`` so that at least ``min(max_new_tokens, block_size // 2)``
    new tokens fit in the context window."""
    room = min(max_new_tokens, block_size // 2)
    return prompt[-(block_size - room) :] if len(prompt) + room > block_size else prompt


def sample_responses(
    model: torch.nn.Module,
    prompts: Sequence[Sequence[int]],
    max_new_tokens: int,
    stop: Sequence[int],
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> list[Response]:
    """Sample one response per prompt (prompts already fitted to the window), grouped by length.

    A response never runs past ``block_size`` (so scoring prompt + response needs no sliding).
    """
    groups: dict[int, list[int]] = defaultdict(list)
    for row, prompt in enumerate(prompts):
        if not prompt:
            raise ValueError(f"prompt {row} has no tokens")
        groups[len(prompt)].append(row)
    out: list[Response | None] = [None] * len(prompts)
    for length in sorted(groups):
        rows = groups[length]
        budget = min(max_new_tokens, model.block_size - length)
        if budget < 1:
            raise ValueError(f"a prompt of {length} tokens leaves no room in the context window")
        idx = torch.tensor([list(prompts[r]) for r in rows], dtype=torch.long, device=device)
        new = model.generate(
            idx,
            budget,
            temperature=temperature,
            top_k=top_k,
            stop_sequences=[list(stop)] if stop else None,
            generator=generator,
        )
        for row, tokens in zip(rows, new, strict=True):
            # A stopped row's output lacks the stop tokens, which used up part of the budget.
            finished = bool(stop) and len(tokens) + len(stop) <= budget
            out[row] = Response(
                tokens=[*tokens, *stop] if finished else list(tokens), finished=finished
            )
    return out  # type: ignore[return-value]


def scoring_rows(
    prompts: Sequence[Sequence[int]],
    responses: Sequence[Response],
    stop: Sequence[int],
    block_size: int,
) -> list[Encoded]:
    """What the reward model reads for each response: prompt + response, and for a response that
    did not finish, the stop tokens after it.

    The reward model was trained on completions that all end with the stop text, so a response
    that ran out of tokens is read as what it is, an answer that broke off (which the model has
    learned to score low), rather than as text unlike anything it saw. Rows longer than
    ``block_size`` keep their end.
    """
    rows = []
    for prompt, response in zip(prompts, responses, strict=True):
        ids = [*prompt, *response.tokens, *([] if response.finished else stop)]
        cut = max(0, len(ids) - block_size)
        rows.append(Encoded(ids[cut:], max(1, len(prompt) - cut)))
    return rows


@dataclass(frozen=True)
class SampledAnswers:
    """Answers sampled by :func:`sample_answers`: the fitted prompt ids, the responses, and the
    answers as text (without the stop text)."""

    prompts: list[list[int]]
    responses: list[Response]
    texts: list[str]


@torch.no_grad()
def sample_answers(
    model: torch.nn.Module,
    tokenizer,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    stop_text: str,
    temperature: float,
    seed: int,
    device: torch.device | str = "cpu",
) -> SampledAnswers:
    """One answer per prompt from ``model`` with a fresh generator seeded by ``seed``: two models
    given the same prompts and seed draw from the same random numbers (common random numbers make
    their comparison less noisy)."""
    stop = tokenizer.encode(stop_text) if stop_text else []
    encoded = [fit_prompt(tokenizer.encode(p), model.block_size, max_new_tokens) for p in prompts]
    gen = torch.Generator(device=device).manual_seed(seed)
    responses = sample_responses(
        model, encoded, max_new_tokens, stop, temperature=temperature, generator=gen, device=device
    )
    texts = [
        tokenizer.decode(r.tokens[: len(r.tokens) - len(stop)] if r.finished else r.tokens)
        for r in responses
    ]
    return SampledAnswers(encoded, responses, texts)


def score_answers(
    reward,
    answers: SampledAnswers,
    stop: Sequence[int],
    batch_size: int,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """The reward model's score of each answer, read as PPO's rollouts are
    (:func:`scoring_rows`)."""
    rows = scoring_rows(answers.prompts, answers.responses, stop, reward.block_size)
    return torch.cat(
        [
            reward.score(pad_batch(rows[start : start + batch_size]).to(device))
            for start in range(0, len(rows), batch_size)
        ]
    )
