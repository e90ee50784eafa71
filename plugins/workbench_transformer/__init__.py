"""Built-in plugins for the original Transformer (Vaswani et al. 2017, "Attention Is All You Need").

* architecture ``transformer``: the encoder-decoder (:mod:`.model`), presets ``transformer-tiny``,
  ``transformer-small``, ``base`` and ``big`` (:mod:`.architecture`);
* stage ``seq2seq``: teacher-forced training with label smoothing and the warm-up schedule
  (:mod:`.seq2seq`);
* evaluations ``bleu`` and ``exact-match`` on greedy and beam-search outputs (:mod:`.evaluations`);
* claims ``attention-alone`` and ``label-smoothing`` (:mod:`.claims`);
* datasets ``copy``, ``reverse``, ``sort``, ``addition``, ``toy-translation`` (generated from a
  seed) and ``jsonl-pairs`` (the user's own pairs) (:mod:`.datasets`).

Registered through the ``workbench`` entry-point group like any third-party plugin; the modules are
imported inside the hooks, and the specs that need torch to run (:mod:`.specs`) import it only
when their factories are called, so that listing plugins and validating a config stay cheap.
"""

from workbench import hookimpl


@hookimpl
def register_architectures(register):
    from workbench_transformer.specs import TRANSFORMER_SPEC

    register(TRANSFORMER_SPEC)


@hookimpl
def register_stages(register):
    from workbench_transformer.specs import SEQ2SEQ_SPEC

    register(SEQ2SEQ_SPEC)


@hookimpl
def register_evaluations(register):
    from workbench_transformer.specs import BLEU_SPEC, EXACT_MATCH_SPEC

    register(BLEU_SPEC)
    register(EXACT_MATCH_SPEC)


@hookimpl
def register_datasets(register):
    from workbench_transformer.datasets import DATASET_SPECS

    for spec in DATASET_SPECS:
        register(spec)


@hookimpl
def register_claims(register):
    from workbench_transformer.claims import CLAIMS

    for spec in CLAIMS:
        register(spec)
