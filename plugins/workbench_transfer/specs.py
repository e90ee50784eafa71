"""What the transfer plugin registers that needs torch to run: the ``lstm-lm`` and
``word-vector-lstm`` architectures (with their presets), the ``word2vec`` stage and the
``word-similarity`` evaluation, with their options.

Nothing here imports torch or Lightning: each factory is a :class:`~workbench.specs.LazyFactory`
that imports its module (:mod:`.architectures`, :mod:`.word2vec`, :mod:`.similarity`) when called.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from workbench.data import TEXT
from workbench.protocols import CAUSAL_LM, SEQUENCE_ENCODER
from workbench.specs import ArchitectureSpec, EvaluationSpec, LazyFactory, StageSpec
from workbench_transfer.config import LSTMLMConfig, WordVectorLSTMConfig

__all__ = [
    "LSTM_LM_PRESETS",
    "LSTM_LM_SPEC",
    "WORD2VEC_SPEC",
    "WORD_SIMILARITY_SPEC",
    "WORD_VECTOR_LSTM_PRESETS",
    "WORD_VECTOR_LSTM_SPEC",
    "Word2VecConfig",
    "WordSimilarityConfig",
]


LSTM_LM_PRESETS: dict[str, dict[str, Any]] = {
    # For tests and smoke runs: trains in seconds on a CPU.
    "lstm-nano": {"n_layer": 1, "n_embd": 16, "n_hidden": 32, "block_size": 16, "dropout": 0.0},
    # The benchmark's CPU model: a few minutes of pre-training on the synthetic corpus.
    "lstm-cpu": {"n_layer": 2, "n_embd": 128, "n_hidden": 256, "block_size": 64, "dropout": 0.1},
    # AWD-LSTM's shape (Merity et al. 2017; ULMFiT's encoder): 3 layers, 400-wide embeddings.
    "awd-lstm": {
        "n_layer": 3,
        "n_embd": 400,
        "n_hidden": 1150,
        "block_size": 70,
        "dropout": 0.3,
    },
}


WORD_VECTOR_LSTM_PRESETS: dict[str, dict[str, Any]] = {
    "wv-nano": {"n_embd": 16, "n_hidden": 16, "block_size": 32, "dropout": 0.0},
    "wv-cpu": {"n_embd": 64, "n_hidden": 128, "block_size": 64, "dropout": 0.1},
}


LSTM_LM_SPEC = ArchitectureSpec(
    name="lstm-lm",
    summary="LSTM language model with tied embeddings (ULMFiT / ELMo-style contextual states)",
    config=LSTMLMConfig,
    factory=LazyFactory("workbench_transfer.architectures:build_lstm_lm"),
    protocols=(CAUSAL_LM, SEQUENCE_ENCODER),
    presets=LSTM_LM_PRESETS,
)


WORD_VECTOR_LSTM_SPEC = ArchitectureSpec(
    name="word-vector-lstm",
    summary="Word vectors (word2vec-trainable, optionally frozen) feeding a small LSTM encoder",
    config=WordVectorLSTMConfig,
    factory=LazyFactory("workbench_transfer.architectures:build_word_vector_lstm"),
    protocols=(SEQUENCE_ENCODER,),
    presets=WORD_VECTOR_LSTM_PRESETS,
)


class Word2VecConfig(BaseModel):
    """Options of the ``word2vec`` stage."""

    model_config = ConfigDict(extra="forbid")

    max_steps: int = Field(3000, ge=1, description="optimizer steps to train for")
    batch_size: int = Field(1024, ge=1, description="(centre, context) pairs per step")
    window: int = Field(5, ge=1, le=50, description="largest distance between centre and context")
    negatives: int = Field(5, ge=1, le=100, description="noise words per true pair")
    subsample: float = Field(
        1e-3,
        ge=0.0,
        le=1.0,
        description="frequent-word sub-sampling threshold t (word2vec's -sample; 0 = off)",
    )
    noise_power: float = Field(
        0.75, ge=0.0, le=1.0, description="negatives are drawn from unigram counts ** this"
    )
    lr: float = Field(1e-2, gt=0, description="Adam learning rate at the start")
    min_lr: float = Field(1e-4, ge=0, description="learning rate reached at max_steps (linear)")
    eval_interval: int = Field(500, ge=1, description="validate every this many steps")
    eval_batches: int = Field(10, ge=1, description="batches per validation")
    checkpoint_every: int | None = Field(
        None, ge=1, description="checkpoint every this many steps (default: eval_interval)"
    )
    probe_words: list[str] = Field(
        default_factory=lambda: ["happy", "tall", "bread", "cat", "baker", "delicious"],
        max_length=50,
        description="words whose nearest neighbours are stored at each validation (unknown "
        "words are skipped)",
    )
    neighbours: int = Field(5, ge=1, le=50, description="neighbours shown per probe word")


WORD2VEC_SPEC = StageSpec(
    name="word2vec",
    summary="Train a model's word vectors (its input embedding) with skip-gram negative sampling",
    config=Word2VecConfig,
    factory=LazyFactory("workbench_transfer.word2vec:build_word2vec"),
    requires=SEQUENCE_ENCODER,
    dataset_kinds=(TEXT,),
)


class WordSimilarityConfig(BaseModel):
    """Options of the ``word-similarity`` evaluation."""

    model_config = ConfigDict(extra="forbid")

    groups: dict[str, list[str]] | None = Field(
        None,
        description="categories of related words, {name: [words]} (empty: the synthetic "
        "lexicon's pets, foods, jobs and review adjectives)",
    )
    antonyms: list[tuple[str, str]] | None = Field(
        None, description="pairs of opposites (empty: the synthetic lexicon's)"
    )
    k: int = Field(5, ge=1, le=100, description="neighbours per word for category_precision")
    random_pairs: int = Field(2000, ge=10, le=1_000_000, description="random pairs compared")
    samples: int = Field(6, ge=0, le=50, description="words whose neighbours are stored")


WORD_SIMILARITY_SPEC = EvaluationSpec(
    name="word-similarity",
    summary="Cosine of related words (antonyms, same category) against random pairs, and "
    "nearest-neighbour category precision, of a model's word vectors",
    config=WordSimilarityConfig,
    factory=LazyFactory("workbench_transfer.similarity:evaluate_word_similarity"),
    requires=SEQUENCE_ENCODER,
)
