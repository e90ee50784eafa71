"""Built-in GPT plugins: the ``gpt`` architecture, the ``pretrain`` stage and the
``perplexity`` evaluation.

Registered through the ``workbench`` entry-point group like any third-party plugin. The specs
(:mod:`.specs`) import neither torch nor Lightning; their factories import them when called.
"""

from workbench import hookimpl


@hookimpl
def register_architectures(register):
    from workbench_gpt.specs import GPT_SPEC

    register(GPT_SPEC)


@hookimpl
def register_stages(register):
    from workbench_gpt.specs import PRETRAIN_SPEC

    register(PRETRAIN_SPEC)


@hookimpl
def register_evaluations(register):
    from workbench_gpt.specs import PERPLEXITY_SPEC

    register(PERPLEXITY_SPEC)
