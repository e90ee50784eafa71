"""Built-in Hugging Face interop: the ``hf-causal-lm`` architecture, the ``hf`` tokenizer and the
``hf`` export format, and the ``lm-eval`` evaluation (lm-evaluation-harness through the export).

Registered through the ``workbench`` entry-point group like any third-party plugin. It loads
without the optional packages; using it needs ``pip install 'workbench[hf]'`` (transformers,
safetensors), and the error says so when they are missing.
"""

from workbench import hookimpl


@hookimpl
def register_architectures(register):
    from workbench_hf.specs import HF_CAUSAL_LM_SPEC

    register(HF_CAUSAL_LM_SPEC)


@hookimpl
def register_tokenizers(register):
    from workbench_hf.tokenizer import HF_TOKENIZER_SPEC

    register(HF_TOKENIZER_SPEC)


@hookimpl
def register_exporters(register):
    from workbench_hf.specs import HF_EXPORTER_SPEC

    register(HF_EXPORTER_SPEC)


@hookimpl
def register_evaluations(register):
    from workbench_hf.specs import LM_EVAL_SPEC

    register(LM_EVAL_SPEC)
