"""What the Hugging Face plugin registers that needs torch to run: the ``hf-causal-lm``
architecture, the ``hf`` export format and the ``lm-eval`` evaluation (their options are in
:mod:`.config`).

Nothing here imports torch: each factory is a :class:`~workbench.specs.LazyFactory` that imports
its module (:mod:`.architecture`, :mod:`.exporter`, :mod:`.lm_eval_evaluation`) when called.
"""

from __future__ import annotations

from workbench.protocols import CAUSAL_LM, SEQUENCE_ENCODER
from workbench.specs import ArchitectureSpec, EvaluationSpec, ExporterSpec, LazyFactory
from workbench_hf.config import HFCausalLMConfig, HFExportConfig, LmEvalConfig

__all__ = ["HF_CAUSAL_LM_SPEC", "HF_EXPORTER_SPEC", "LM_EVAL_SPEC"]


HF_CAUSAL_LM_SPEC = ArchitectureSpec(
    name="hf-causal-lm",
    summary="A local Hugging Face transformers causal LM (GPT-2 family and alike), never downloaded",
    config=HFCausalLMConfig,
    factory=LazyFactory("workbench_hf.architecture:build_hf_causal_lm"),
    protocols=(CAUSAL_LM, SEQUENCE_ENCODER),
)


HF_EXPORTER_SPEC = ExporterSpec(
    name="hf",
    summary="A Hugging Face transformers model folder (GPT2LMHeadModel for pre-LN gpt runs)",
    config=HFExportConfig,
    factory=LazyFactory("workbench_hf.exporter:export_hf"),
)


LM_EVAL_SPEC = EvaluationSpec(
    name="lm-eval",
    summary="lm-evaluation-harness on the run's Hugging Face export, with local task YAMLs "
    "(default: the run's synthetic prompt tasks, the few-shot evaluation's prompts)",
    config=LmEvalConfig,
    factory=LazyFactory("workbench_hf.lm_eval_evaluation:evaluate_lm_eval"),
    requires=CAUSAL_LM,
)
