"""Built-in plugin: simulated annotators that label comparison pairs by a stated rule
(``factual-polite``, ``concise``, ``random``), and the ``preference-labels`` dataset that reads
the labels stored in the workbench home back as TRL-format preference pairs.

Registered through the ``workbench`` entry-point group like any third-party plugin; the modules
are imported inside the hooks so that listing plugins stays cheap.
"""

from workbench import hookimpl


@hookimpl
def register_annotators(register):
    from workbench_annotators.rules import CONCISE_SPEC, FACTUAL_POLITE_SPEC, RANDOM_SPEC

    register(FACTUAL_POLITE_SPEC)
    register(CONCISE_SPEC)
    register(RANDOM_SPEC)


@hookimpl
def register_datasets(register):
    from workbench_annotators.labels_dataset import PREFERENCE_LABELS_SPEC

    register(PREFERENCE_LABELS_SPEC)
