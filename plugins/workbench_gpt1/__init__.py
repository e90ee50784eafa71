"""Built-in GPT-1 fine-tuning plugin: the ``finetune`` stage (task input transformations, a
linear head and the auxiliary LM loss), the ``task-accuracy`` evaluation, the ``jsonl-task``
dataset, and the claims ``pretraining-helps`` and ``auxiliary-lm-loss`` (:mod:`.claims`).

Registered through the ``workbench`` entry-point group like any third-party plugin. The specs
(:mod:`.specs`) import neither torch nor Lightning; their factories import them when called.
"""

from workbench import hookimpl


@hookimpl
def register_stages(register):
    from workbench_gpt1.specs import FINETUNE_SPEC

    register(FINETUNE_SPEC)


@hookimpl
def register_evaluations(register):
    from workbench_gpt1.specs import TASK_ACCURACY_SPEC

    register(TASK_ACCURACY_SPEC)


@hookimpl
def register_datasets(register):
    from workbench_gpt1.jsonl_task import JSONL_TASK_SPEC

    register(JSONL_TASK_SPEC)


@hookimpl
def register_claims(register):
    from workbench_gpt1.claims import CLAIMS

    for spec in CLAIMS:
        register(spec)
