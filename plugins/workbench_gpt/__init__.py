"""Built-in GPT plugins: the ``gpt`` architecture, the ``pretrain`` stage and the
``perplexity`` evaluation.

Registered through the ``workbench`` entry-point group like any third-party plugin.
"""

from workbench import hookimpl


@hookimpl
def register_architectures(register):
    from workbench_gpt.architecture import GPT_SPEC

    register(GPT_SPEC)


@hookimpl
def register_stages(register):
    from workbench_gpt.pretrain import PRETRAIN_SPEC

    register(PRETRAIN_SPEC)


@hookimpl
def register_evaluations(register):
    from workbench_gpt.perplexity import PERPLEXITY_SPEC

    register(PERPLEXITY_SPEC)
