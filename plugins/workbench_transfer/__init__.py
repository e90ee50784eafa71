"""Built-in plugin: the evolution of transfer learning in NLP, three ways to solve one labelled
task with knowledge from unlabelled text.

1. word vectors as inputs: the ``word`` tokenizer, the ``word2vec`` stage (skip-gram with negative
   sampling into a model's embedding table) and the ``word-vector-lstm`` task model over them;
2. contextual RNN states: the ``lstm-lm`` language model, pre-trained with ``pretrain`` and read
   as features (ELMo-like) or fine-tuned whole (ULMFiT-like);
3. a pre-trained Transformer fine-tuned directly (the ``gpt`` architecture and ``finetune``
   stage of other plugins).

The ``word-similarity`` evaluation shows what the word vectors learned; the ``transfer-ladder``
claim (:mod:`.claims`) compares the three ways. Registered through the
``workbench`` entry-point group like any third-party plugin; modules load inside the hooks.
"""

from workbench import hookimpl


@hookimpl
def register_tokenizers(register):
    from workbench_transfer.tokenizer import WORD_SPEC

    register(WORD_SPEC)


@hookimpl
def register_architectures(register):
    from workbench_transfer.specs import LSTM_LM_SPEC, WORD_VECTOR_LSTM_SPEC

    register(LSTM_LM_SPEC)
    register(WORD_VECTOR_LSTM_SPEC)


@hookimpl
def register_stages(register):
    from workbench_transfer.specs import WORD2VEC_SPEC

    register(WORD2VEC_SPEC)


@hookimpl
def register_evaluations(register):
    from workbench_transfer.specs import WORD_SIMILARITY_SPEC

    register(WORD_SIMILARITY_SPEC)


@hookimpl
def register_claims(register):
    from workbench_transfer.claims import CLAIMS

    for spec in CLAIMS:
        register(spec)
