"""The ``word-similarity`` evaluation: did the word vectors learn which words are alike?

Word groups come from the synthetic corpus's lexicon (or the evaluation's ``groups`` option):
antonym pairs (``tall``/``short``: distributional vectors put opposites close, since they occur
in the same places), and categories (pets, foods, jobs, praising and damning review adjectives).
The figures compare related pairs with random pairs of the same words:

- ``antonym_cosine``, ``category_cosine``, ``random_cosine``: mean cosine similarities;
- ``category_precision``: of each grouped word's ``k`` nearest grouped words, the share in its own
  category, against ``chance_precision`` for random vectors.
"""

from __future__ import annotations

import random
from itertools import combinations

import torch
import torch.nn.functional as F

from workbench.specs import EvaluationContext
from workbench_transfer.neighbours import (
    cosine,
    describe_neighbours,
    input_embedding,
    nearest_neighbours,
    special_ids,
)
from workbench_transfer.specs import WORD_SIMILARITY_SPEC, WordSimilarityConfig

__all__ = ["WORD_SIMILARITY_SPEC", "WordSimilarityConfig", "lexicon_groups", "word_similarity"]


def lexicon_groups() -> tuple[dict[str, list[str]], list[tuple[str, str]]]:
    """Categories and antonym pairs of the synthetic corpus's lexicon."""
    from workbench_synthetic import ANTONYM_PAIRS, FOODS, JOBS, PETS, REVIEW_ASPECTS

    praise = [word for _, good, _ in REVIEW_ASPECTS.values() for word in good]
    blame = [word for _, _, bad in REVIEW_ASPECTS.values() for word in bad]
    groups = {
        "pets": list(PETS),
        "foods": list(FOODS),
        "jobs": list(JOBS),
        "praise": list(dict.fromkeys(praise)),
        "blame": list(dict.fromkeys(blame)),
    }
    return groups, [tuple(pair) for pair in ANTONYM_PAIRS]  # type: ignore[misc]


def _single_token(tokenizer, word: str, skip: set[int]) -> int | None:
    ids = tokenizer.encode(word)
    return ids[0] if len(ids) == 1 and ids[0] not in skip else None


@torch.no_grad()
def word_similarity(
    vectors: torch.Tensor,
    tokenizer,
    groups: dict[str, list[str]],
    antonyms: list[tuple[str, str]],
    k: int = 5,
    random_pairs: int = 2000,
    seed: int = 0,
) -> dict[str, float]:
    """The figures described in the module docstring, for the rows of ``vectors``; words that
    are not one known token are left out (``words_scored`` counts those kept)."""
    skip = set(special_ids(tokenizer))
    # A word listed in two groups (the lexicon reuses "lovely") counts for the first only.
    category: dict[int, str] = {}
    for name, words in groups.items():
        for word in words:
            token = _single_token(tokenizer, word, skip)
            if token is not None:
                category.setdefault(token, name)
    pairs = [
        (a, b)
        for a, b in ((_single_token(tokenizer, x, skip), _single_token(tokenizer, y, skip))
                     for x, y in antonyms)
        if a is not None and b is not None
    ]  # fmt: skip
    tokens = sorted(category)
    members: dict[str, list[int]] = {}
    for token in tokens:
        members.setdefault(category[token], []).append(token)
    same = [pair for group in members.values() for pair in combinations(group, 2)]
    if not same and not pairs:
        raise ValueError("none of the word groups' words are single tokens of the tokenizer")

    scored = sorted(set(tokens) | {t for pair in pairs for t in pair})
    rng = random.Random(seed)
    random_a, random_b = [], []
    while len(random_a) < random_pairs and len(scored) > 1:
        a, b = rng.sample(scored, 2)
        random_a.append(a)
        random_b.append(b)

    def mean_cosine(items: list[tuple[int, int]]) -> float:
        if not items:
            return float("nan")
        a, b = zip(*items, strict=True)
        return float(cosine(vectors, a, b).mean())

    results = {
        "antonym_cosine": mean_cosine(pairs),
        "category_cosine": mean_cosine(same),
        "random_cosine": mean_cosine(list(zip(random_a, random_b, strict=True))),
        "words_scored": float(len(scored)),
    }
    if len(tokens) > k:
        unit = F.normalize(vectors[torch.tensor(tokens)].float(), dim=-1)
        scores = unit @ unit.T
        scores.fill_diagonal_(float("-inf"))
        best = scores.topk(k, dim=-1).indices
        labels = [category[t] for t in tokens]
        hits = [sum(labels[j] == labels[i] for j in row.tolist()) / k for i, row in enumerate(best)]
        chance = [(len(members[label]) - 1) / (len(tokens) - 1) for label in labels]
        results["category_precision"] = sum(hits) / len(hits)
        results["chance_precision"] = sum(chance) / len(chance)
    return results


def evaluate_word_similarity(ctx: EvaluationContext) -> dict[str, float]:
    cfg: WordSimilarityConfig = ctx.config  # type: ignore[assignment]
    default_groups, default_antonyms = lexicon_groups()
    groups = cfg.groups if cfg.groups is not None else default_groups
    antonyms = [tuple(p) for p in cfg.antonyms] if cfg.antonyms is not None else default_antonyms
    vectors = input_embedding(ctx.model).weight.detach().cpu()
    results = word_similarity(
        vectors, ctx.tokenizer, groups, antonyms, cfg.k, cfg.random_pairs, ctx.run.seed
    )
    skip = special_ids(ctx.tokenizer)
    shown = [words[0] for words in groups.values() if words][: cfg.samples]
    shown += [a for a, _ in antonyms][: max(0, cfg.samples - len(shown))]
    for word in shown:
        if _single_token(ctx.tokenizer, word, set(skip)) is None:
            continue
        neighbours = nearest_neighbours(vectors, ctx.tokenizer, word, cfg.k, skip)
        ctx.log_sample(0, word, describe_neighbours(neighbours))
    return results
