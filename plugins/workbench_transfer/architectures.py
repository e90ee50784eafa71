"""The factories of the ``lstm-lm`` and ``word-vector-lstm`` architectures (their specs and
presets live in :mod:`workbench_transfer.specs`, without torch, and are re-exported here)."""

from __future__ import annotations

from workbench.specs import ModelContext
from workbench_transfer.lstm_lm import LSTMLanguageModel, LSTMLMConfig
from workbench_transfer.specs import (
    LSTM_LM_PRESETS,
    LSTM_LM_SPEC,
    WORD_VECTOR_LSTM_PRESETS,
    WORD_VECTOR_LSTM_SPEC,
)
from workbench_transfer.word_vector_lstm import WordVectorLSTM, WordVectorLSTMConfig

__all__ = [
    "LSTM_LM_PRESETS",
    "LSTM_LM_SPEC",
    "WORD_VECTOR_LSTM_PRESETS",
    "WORD_VECTOR_LSTM_SPEC",
    "build_lstm_lm",
    "build_word_vector_lstm",
]


def build_lstm_lm(config: LSTMLMConfig, ctx: ModelContext) -> LSTMLanguageModel:
    return LSTMLanguageModel(config, vocab_size=ctx.vocab_size)


def build_word_vector_lstm(config: WordVectorLSTMConfig, ctx: ModelContext) -> WordVectorLSTM:
    return WordVectorLSTM(config, vocab_size=ctx.vocab_size)
