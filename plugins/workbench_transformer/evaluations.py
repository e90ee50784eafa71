"""The ``bleu`` and ``exact-match`` evaluations of a finished seq2seq run.

Both decode a held-out split (the test split by default) with greedy decoding, beam search, or
both, and score the outputs against the references. Metric names carry the decoding:
``bleu_greedy``, ``bleu_beam``, ``exact_match_greedy``, ``exact_match_beam``; ``examples`` is the
number of pairs scored.
"""

from __future__ import annotations

from collections.abc import Callable

from workbench.protocols import Seq2SeqTokenIds
from workbench.specs import EvaluationContext
from workbench_transformer.inference import decode_texts
from workbench_transformer.metrics import corpus_bleu, exact_match
from workbench_transformer.specs import BLEU_SPEC, EXACT_MATCH_SPEC, BleuConfig, ExactMatchConfig

__all__ = ["BLEU_SPEC", "EXACT_MATCH_SPEC", "BleuConfig", "ExactMatchConfig"]


def _decoded(ctx: EvaluationContext) -> tuple[dict[str, list[str]], list[str]]:
    """Outputs per decoding mode, and the references."""
    cfg: ExactMatchConfig = ctx.config  # type: ignore[assignment]
    pairs = ctx.dataset.split(cfg.split)
    if not pairs:
        raise ValueError(f"the dataset's {cfg.split} split is empty; choose another split")
    if cfg.max_examples is not None:
        pairs = pairs[: cfg.max_examples]
    ids = Seq2SeqTokenIds.from_tokenizer(ctx.tokenizer)
    sources = [source for source, _ in pairs]
    references = [target for _, target in pairs]
    modes = ["greedy", "beam"] if cfg.decoding == "both" else [cfg.decoding]
    outputs = {}
    for mode in modes:
        outputs[mode] = decode_texts(
            ctx.model,
            ctx.tokenizer,
            ids,
            sources,
            beam_size=cfg.beam_size if mode == "beam" else 1,
            length_penalty=cfg.length_penalty,
            batch_size=cfg.batch_size,
            max_len_ratio=cfg.max_len_ratio,
            max_len_extra=cfg.max_len_extra,
        )
    for source, output in list(zip(sources, outputs[modes[-1]], strict=True))[:3]:
        ctx.log_sample(0, source, output)
    return outputs, references


def _evaluate(
    ctx: EvaluationContext, name: str, score: Callable[[list[str], list[str]], float]
) -> dict[str, float]:
    outputs, references = _decoded(ctx)
    metrics = {f"{name}_{mode}": score(texts, references) for mode, texts in outputs.items()}
    metrics["examples"] = float(len(references))
    return metrics


def run_bleu(ctx: EvaluationContext) -> dict[str, float]:
    """Corpus BLEU (sacreBLEU, 0-100) of the decoded split."""
    tokenize = ctx.config.tokenize  # type: ignore[attr-defined]
    return _evaluate(ctx, "bleu", lambda hyps, refs: corpus_bleu(hyps, refs, tokenize))


def run_exact_match(ctx: EvaluationContext) -> dict[str, float]:
    """Share (0-1) of decoded outputs identical to their reference."""
    return _evaluate(ctx, "exact_match", exact_match)
