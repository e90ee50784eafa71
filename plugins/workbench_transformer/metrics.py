"""Scores of decoded outputs against references: corpus BLEU (sacreBLEU) and exact match."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

__all__ = ["BLEU_TOKENIZERS", "BleuTokenize", "corpus_bleu", "exact_match"]

BleuTokenize = Literal["13a", "intl", "char", "none"]
"""sacreBLEU tokenizers offered: ``13a`` (its default, for words), ``intl`` (Unicode punctuation),
``char`` (every character a token: for the digit and letter strings of the algorithmic tasks),
``none`` (split on spaces only)."""

BLEU_TOKENIZERS: tuple[str, ...] = ("13a", "intl", "char", "none")


def _check_lengths(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    if len(hypotheses) != len(references):
        raise ValueError(
            f"{len(hypotheses)} outputs but {len(references)} references: they must pair up"
        )
    if not references:
        raise ValueError("no examples to score")


def corpus_bleu(
    hypotheses: Sequence[str], references: Sequence[str], tokenize: str = "13a"
) -> float:
    """Corpus BLEU (0-100) of ``hypotheses`` against one reference each, as sacreBLEU computes it
    (up to 4-grams, brevity penalty, its default exponential smoothing).

    ``effective_order`` is on: n-gram orders that no reference of the whole corpus is long enough
    to have are left out instead of zeroing the score, so a corpus of perfect two-token outputs
    scores 100, not 0. For any corpus with some reference of four tokens or more the score is the
    standard one.
    """
    from sacrebleu.metrics import BLEU

    _check_lengths(hypotheses, references)
    metric = BLEU(tokenize=tokenize, effective_order=True)
    return float(metric.corpus_score(list(hypotheses), [list(references)]).score)


def exact_match(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Share (0-1) of outputs identical to their reference."""
    _check_lengths(hypotheses, references)
    hits = sum(h == r for h, r in zip(hypotheses, references, strict=True))
    return hits / len(references)
