"""Built-in plugin: GPT-2/GPT-3 prompting: zero-, one- and few-shot evaluation with forward passes only.

It registers the ``few-shot`` evaluation (accuracy against the number of in-context
demonstrations, on a corpus with prompt tasks) and the ``prompt-task-text`` dataset (one prompt
task as text, to fine-tune on the same task for comparison), and the claims ``zero-shot``,
``few-shot-scaling`` and ``finetune-vs-prompting`` (:mod:`.claims`). See ``docs/prompting.md``.

Registered through the ``workbench`` entry-point group like any third-party plugin; the modules
are imported inside the hooks so that listing plugins stays cheap.
"""

from workbench import hookimpl


@hookimpl
def register_evaluations(register):
    from workbench_prompting.specs import FEW_SHOT_SPEC

    register(FEW_SHOT_SPEC)


@hookimpl
def register_datasets(register):
    from workbench_prompting.task_text import PROMPT_TASK_TEXT_SPEC

    register(PROMPT_TASK_TEXT_SPEC)


@hookimpl
def register_claims(register):
    from workbench_prompting.claims import CLAIMS

    for spec in CLAIMS:
        register(spec)
