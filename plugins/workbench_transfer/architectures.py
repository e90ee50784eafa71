"""The ``lstm-lm`` and ``word-vector-lstm`` architecture specs: presets and factories."""

from __future__ import annotations

from typing import Any

from workbench.protocols import CAUSAL_LM, SEQUENCE_ENCODER
from workbench.specs import ArchitectureSpec, ModelContext
from workbench_transfer.lstm_lm import LSTMLanguageModel, LSTMLMConfig
from workbench_transfer.word_vector_lstm import WordVectorLSTM, WordVectorLSTMConfig

__all__ = ["LSTM_LM_SPEC", "WORD_VECTOR_LSTM_SPEC"]

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


def build_lstm_lm(config: LSTMLMConfig, ctx: ModelContext) -> LSTMLanguageModel:
    return LSTMLanguageModel(config, vocab_size=ctx.vocab_size)


def build_word_vector_lstm(config: WordVectorLSTMConfig, ctx: ModelContext) -> WordVectorLSTM:
    return WordVectorLSTM(config, vocab_size=ctx.vocab_size)


LSTM_LM_SPEC = ArchitectureSpec(
    name="lstm-lm",
    summary="LSTM language model with tied embeddings (ULMFiT / ELMo-style contextual states)",
    config=LSTMLMConfig,
    factory=build_lstm_lm,
    protocols=(CAUSAL_LM, SEQUENCE_ENCODER),
    presets=LSTM_LM_PRESETS,
)

WORD_VECTOR_LSTM_SPEC = ArchitectureSpec(
    name="word-vector-lstm",
    summary="Word vectors (word2vec-trainable, optionally frozen) feeding a small LSTM encoder",
    config=WordVectorLSTMConfig,
    factory=build_word_vector_lstm,
    protocols=(SEQUENCE_ENCODER,),
    presets=WORD_VECTOR_LSTM_PRESETS,
)
