"""Built-in text plugins: the ``char`` and ``bpe`` tokenizers and the ``text-file``, ``url`` and
``synthetic`` datasets, and the views of the synthetic corpus ``synthetic-task`` (a labelled task)
and ``synthetic-prompts`` (RLHF prompts). The synthetic corpus itself is the library
:mod:`workbench_synthetic`.

Registered through the ``workbench`` entry-point group like any third-party plugin; the heavy
modules are imported inside the hooks so that listing plugins stays cheap.
"""

from workbench import hookimpl


@hookimpl
def register_tokenizers(register):
    from workbench_text.tokenizers import BPE_SPEC, CHAR_SPEC

    register(CHAR_SPEC)
    register(BPE_SPEC)


@hookimpl
def register_datasets(register):
    from workbench_text.datasets import TEXT_FILE_SPEC, URL_SPEC
    from workbench_text.synthetic_datasets import (
        SYNTHETIC_PROMPTS_SPEC,
        SYNTHETIC_SPEC,
        SYNTHETIC_TASK_SPEC,
    )

    register(TEXT_FILE_SPEC)
    register(URL_SPEC)
    register(SYNTHETIC_SPEC)
    register(SYNTHETIC_TASK_SPEC)
    register(SYNTHETIC_PROMPTS_SPEC)
