"""What the Transformer plugin registers that needs torch to run: the ``transformer``
architecture (with its presets), the ``seq2seq`` stage and the ``bleu`` and ``exact-match``
evaluations, with their options.

Nothing here imports torch or Lightning: each factory is a :class:`~workbench.specs.LazyFactory`
that imports its module (:mod:`.architecture`, :mod:`.seq2seq`, :mod:`.evaluations`) when called.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workbench.data import SEQ2SEQ
from workbench.protocols import SEQ2SEQ as SEQ2SEQ_PROTOCOL
from workbench.specs import ArchitectureSpec, EvaluationSpec, LazyFactory, StageSpec
from workbench_transformer.config import TransformerConfig
from workbench_transformer.metrics import BleuTokenize

__all__ = [
    "BLEU_SPEC",
    "EXACT_MATCH_SPEC",
    "PRESETS",
    "SEQ2SEQ_SPEC",
    "TRANSFORMER_SPEC",
    "BleuConfig",
    "ExactMatchConfig",
    "Seq2SeqConfig",
]


PRESETS: dict[str, dict[str, Any]] = {
    # Trains the algorithmic tasks in seconds to a minute on a laptop CPU; for tests and demos.
    "transformer-tiny": {
        "encoder_layers": 2,
        "decoder_layers": 2,
        "d_model": 64,
        "n_head": 4,
        "d_ff": 256,
        "dropout": 0.0,
        "max_len": 128,
    },
    # A few minutes on a CPU for the toy translation.
    "transformer-small": {
        "encoder_layers": 3,
        "decoder_layers": 3,
        "d_model": 128,
        "n_head": 4,
        "d_ff": 512,
        "dropout": 0.1,
        "max_len": 256,
    },
    # The paper's base model (Table 3): N = 6, d_model 512, h 8, d_ff 2048, P_drop 0.1.
    "base": {
        "encoder_layers": 6,
        "decoder_layers": 6,
        "d_model": 512,
        "n_head": 8,
        "d_ff": 2048,
        "dropout": 0.1,
        "max_len": 512,
    },
    # The paper's big model: d_model 1024, h 16, d_ff 4096, P_drop 0.3.
    "big": {
        "encoder_layers": 6,
        "decoder_layers": 6,
        "d_model": 1024,
        "n_head": 16,
        "d_ff": 4096,
        "dropout": 0.3,
        "max_len": 512,
    },
}
"""Named starting points for :class:`TransformerConfig`."""


TRANSFORMER_SPEC = ArchitectureSpec(
    name="transformer",
    summary="Encoder-decoder Transformer (Vaswani et al. 2017): post-/pre-LN, shared embeddings",
    config=TransformerConfig,
    factory=LazyFactory("workbench_transformer.architecture:build_transformer"),
    protocols=(SEQ2SEQ_PROTOCOL,),
    presets=PRESETS,
)


class Seq2SeqConfig(BaseModel):
    """Options of the ``seq2seq`` stage."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(3000, ge=1, description="optimizer steps to train for")
    max_tokens: int = Field(
        2048,
        ge=8,
        le=10_000_000,
        description="padded positions per batch (rows times the longest source or target)",
    )
    label_smoothing: float = Field(
        0.1, ge=0.0, lt=1.0, description="label smoothing epsilon (the paper: 0.1; 0 = off)"
    )
    warmup_steps: int = Field(
        4000, ge=1, description="warm-up steps of the schedule (the paper: 4000)"
    )
    lr_factor: float = Field(
        1.0, gt=0.0, le=100.0, description="multiplier of the schedule's learning rate"
    )
    beta1: float = Field(0.9, gt=0.0, lt=1.0, description="Adam beta1")
    beta2: float = Field(0.98, gt=0.0, lt=1.0, description="Adam beta2 (the paper: 0.98)")
    adam_eps: float = Field(1e-9, gt=0.0, le=1e-3, description="Adam epsilon (the paper: 1e-9)")
    weight_decay: float = Field(0.0, ge=0.0, description="decoupled weight decay (AdamW); 0 = Adam")
    grad_clip: float = Field(
        0.0, ge=0.0, description="clip the gradient norm (0 = off, as the paper)"
    )
    eval_interval: int = Field(500, ge=1, description="validate every this many steps")
    eval_examples: int = Field(
        300, ge=1, description="validation pairs decoded for exact match and BLEU"
    )
    eval_decoding: Literal["greedy", "beam"] = Field(
        "greedy", description="decoding used for the validation exact match and BLEU"
    )
    beam_size: int = Field(4, ge=1, le=64, description="beam width when eval_decoding is beam")
    length_penalty: float = Field(
        0.6, ge=0.0, le=5.0, description="beam search length penalty alpha (the paper: 0.6)"
    )
    bleu_tokenize: BleuTokenize = Field(
        "13a",
        description="sacreBLEU tokenizer: 13a for words, char for symbol strings (copy, sort, ...)",
    )
    max_len_ratio: float = Field(
        1.5, gt=0.0, le=100.0, description="decode at most ratio * source length + extra tokens"
    )
    max_len_extra: int = Field(10, ge=0, le=10000, description="see max_len_ratio")
    decode_batch_size: int = Field(128, ge=1, description="sources decoded at once")
    sample_count: int = Field(3, ge=0, le=100, description="decoded examples stored per validation")
    checkpoint_every: int | None = Field(
        None, ge=1, description="checkpoint every this many steps (default: eval_interval)"
    )


SEQ2SEQ_SPEC = StageSpec(
    name="seq2seq",
    summary="Teacher-forced encoder-decoder training: label smoothing, warm-up schedule, BLEU",
    config=Seq2SeqConfig,
    factory=LazyFactory("workbench_transformer.seq2seq:build_seq2seq"),
    requires=SEQ2SEQ_PROTOCOL,
    dataset_kinds=(SEQ2SEQ,),
)


class ExactMatchConfig(BaseModel):
    """Options of ``exact-match`` (and the decoding options ``bleu`` shares)."""

    model_config = ConfigDict(extra="forbid")

    split: Literal["val", "test"] = Field("test", description="held-out split to decode")
    decoding: Literal["greedy", "beam", "both"] = Field(
        "both", description="greedy decoding, beam search, or both (one metric each)"
    )
    beam_size: int = Field(4, ge=1, le=64, description="beam width (the paper: 4)")
    length_penalty: float = Field(
        0.6, ge=0.0, le=5.0, description="beam search length penalty alpha (the paper: 0.6)"
    )
    max_examples: int | None = Field(
        None, ge=1, description="score only the split's first this many pairs (default: all)"
    )
    batch_size: int = Field(64, ge=1, description="sources decoded at once")
    max_len_ratio: float = Field(
        1.5, gt=0.0, le=100.0, description="decode at most ratio * source length + extra tokens"
    )
    max_len_extra: int = Field(10, ge=0, le=10000, description="see max_len_ratio")


class BleuConfig(ExactMatchConfig):
    """Options of ``bleu``."""

    tokenize: BleuTokenize = Field(
        "13a",
        description="sacreBLEU tokenizer: 13a for words, char for symbol strings (copy, sort, ...)",
    )


BLEU_SPEC = EvaluationSpec(
    name="bleu",
    summary="Corpus BLEU (sacreBLEU) of greedy and beam-search outputs on a held-out split",
    config=BleuConfig,
    factory=LazyFactory("workbench_transformer.evaluations:run_bleu"),
    requires=SEQ2SEQ_PROTOCOL,
)


EXACT_MATCH_SPEC = EvaluationSpec(
    name="exact-match",
    summary="Share of greedy and beam-search outputs identical to the reference",
    config=ExactMatchConfig,
    factory=LazyFactory("workbench_transformer.evaluations:run_exact_match"),
    requires=SEQ2SEQ_PROTOCOL,
)
