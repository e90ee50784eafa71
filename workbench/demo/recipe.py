"""The demo's recipe: the lineage as a list of steps, scaled to a time budget.

Every step is one thing a user could do by hand: a run (``workbench run``), an evaluation
(``workbench evaluate``), comparison pairs (``workbench pairs generate``) or simulated labels
(``workbench label``). Values ``"@KEY"`` in a step's config or options stand for the id of the
run that step ``KEY`` made, so every child names its exact parent.

One pre-trained GPT is the root of the lineage: GPT-1 fine-tuning (with few and with all labels,
each beside a twin trained from scratch), few-shot prompting of it against a copy fine-tuned on
the prompt task, comparison pairs of its samples and a simulated annotator's labels of them, a
reward model on rule-written pairs and most of those labels (as ``rlhf-reward.yaml``) tested on
the rest,
PPO and DPO, and their evaluations. Beside it: a small GPT trained for in-context learning
(``configs/prompting-icl.yaml``'s small twin) and its few-shot curve, and the seq2seq
Transformer.

``--minutes`` scales the step counts and evaluation sizes from the default budget
(:data:`DEFAULT_MINUTES`, estimated for 2 CPU cores); below :data:`SMALL_MINUTES` the models
are smaller too (a smoke test of the whole chain).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

DEFAULT_MINUTES = 15.0
"""The default budget: the recipe below at scale 1, sized to fit it on 2 CPU cores (estimated
from step times; the steps' own estimates add up to a little less)."""

SMALL_MINUTES = 3.0
"""Below this budget the GPTs are 2 layers x 64 and the corpus smaller."""

ANNOTATOR = "factual-polite"
"""The simulated annotator that labels the demo's pairs, and judges the win rates."""

MIN_LABELS = 20
"""Labels naming a winner that the reward model's agreement with the annotator needs."""

StepKind = Literal["run", "evaluate", "pairs", "label"]


@dataclass(frozen=True)
class Step:
    """One step of the demo."""

    key: str
    """Its name on the command line (``--from KEY``)."""
    title: str
    kind: StepKind
    config: dict[str, Any] | None = None
    """``run``: the run config."""
    run: str | None = None
    """``evaluate`` / ``pairs``: the key of the step whose run it uses."""
    evaluation: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    """``evaluate``: the evaluation's options; ``pairs``: count, max_tokens, temperature;
    ``label``: annotator."""
    seconds: float = 10.0
    """Estimated wall time at the default budget on 2 CPU cores (for the progress display)."""
    dataset: dict[str, Any] | None = None
    """``evaluate``: a dataset block to evaluate on instead of the run's own (``--dataset``)."""
    needs_labels: str | None = None
    """While fewer than :data:`MIN_LABELS` of this annotator's labels name a winner (a model too
    young to write answers that differ in what the rule checks): ``evaluate``: skip it; ``run``:
    train without stored labels (the dataset's ``labels_*`` options are dropped)."""

    @property
    def command(self) -> str:
        """The CLI command that does what this step does (with run names for ids)."""
        if self.kind == "run":
            return f"workbench run CONFIG  # {self.config['name']}"  # type: ignore[index]
        if self.kind == "evaluate":
            sets = " ".join(f"--set {k}={v}" for k, v in self.options.items())
            return f"workbench evaluate {self.run} {self.evaluation} {sets}".rstrip()
        if self.kind == "pairs":
            return f"workbench pairs generate {self.run} --count {self.options['count']}"
        return f"workbench label --annotator {self.options['annotator']}"


def _scaled(base: float, scale: float, least: int) -> int:
    return max(least, round(base * scale))


def _gpt(small: bool) -> dict[str, Any]:
    if small:
        return {"name": "gpt", "n_layer": 2, "n_head": 2, "n_embd": 64, "block_size": 128,
                "dropout": 0.0}  # fmt: skip
    return {"name": "gpt", "n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 128,
            "dropout": 0.0}  # fmt: skip


FINETUNE_STEPS = 250
FINETUNE_SECONDS = 16.0
"""GPT-1 fine-tuning: the default demo's five 250-step fine-tunings took 23-25 s each with their
start-up on the quiet 2-core machine (docs/demo.md, "How long it takes")."""

TRAINER = {"accelerator": "auto", "devices": 1, "precision": "32-true", "log_every_n_steps": 10}


def recipe(minutes: float = DEFAULT_MINUTES) -> list[Step]:
    """The demo's steps for a budget of ``minutes`` (the default: :data:`DEFAULT_MINUTES`)."""
    if minutes <= 0:
        raise ValueError(f"--minutes must be above 0, got {minutes}")
    scale = minutes / DEFAULT_MINUTES
    small = minutes < SMALL_MINUTES
    seed = 1337
    world = {"size_chars": 200_000 if small else 1_000_000, "seed": seed}
    gpt = _gpt(small)
    tokenizer = {"name": "char", "special_tokens": ["<start>", "<delim>", "<extract>"]}

    def run(name: str, stage: dict[str, Any], dataset: dict[str, Any], *, parent: str | None,
            architecture: dict[str, Any] | None = None, tok: dict[str, Any] | None = None,
            run_seed: int | None = None) -> dict[str, Any]:  # fmt: skip
        return {
            "name": name,
            "seed": seed if run_seed is None else run_seed,
            "stage": stage,
            "architecture": copy.deepcopy(architecture or gpt),
            "tokenizer": copy.deepcopy(tok or tokenizer),
            "dataset": dataset,
            "trainer": dict(TRAINER),
            "init_from": parent,
        }

    pre_steps = _scaled(1500, scale, 40)
    pretrain = run(
        "demo-gpt",
        {"name": "pretrain", "max_steps": pre_steps, "batch_size": 16, "lr": 2.0e-3,
         "min_lr": 2.0e-4, "warmup_steps": min(100, pre_steps // 5),
         "eval_interval": max(20, pre_steps // 6), "eval_batches": 10, "sample_tokens": 200},
        {"name": "synthetic", **world},
        parent=None,
    )  # fmt: skip

    def finetune(
        name: str, labels: int | None, parent: str | None, lm_coef: float = 0.5
    ) -> dict[str, Any]:
        # The same steps with few labels as with all of them: a fair comparison of the two.
        steps = _scaled(FINETUNE_STEPS, scale, 10)
        dataset = {"name": "synthetic-task", **world, "task": "sentiment"}
        if labels is not None:
            dataset["train_limit"] = labels
        stage = {"name": "finetune", "max_steps": steps, "batch_size": 16, "lr": 1.0e-3,
                 "warmup_steps": min(20, steps // 5), "lm_coef": lm_coef,
                 "eval_interval": max(10, steps // 4)}  # fmt: skip
        return run(name, stage, dataset, parent=parent)

    few = 100
    prompt_task = "first-letter"
    prompt_steps = _scaled(300, scale, 20)
    prompting = run(
        f"demo-prompting-{prompt_task}",
        {"name": "pretrain", "max_steps": prompt_steps, "batch_size": 16, "lr": 3.0e-4,
         "min_lr": 3.0e-5, "warmup_steps": min(20, prompt_steps // 5),
         "eval_interval": max(20, prompt_steps // 3), "eval_batches": 5, "sample_tokens": 100,
         "sample_prompt": "Give the first letter:\n"},
        {"name": "prompt-task-text", "task": prompt_task, "instruction": True, **world},
        parent="@pretrain",
    )  # fmt: skip
    prompts = {"n_preference_prompts": 3000, **world}
    # The reward model trains on rule-written pairs and on the annotator's labels of the GPT's
    # own samples (as configs/rlhf-reward.yaml does: InstructGPT's labellers compared the model's
    # answers); a fifth of the labelled pairs is held out, and the agreement step tests the
    # reward model on those, the answers PPO will meet. DPO trains on the rule-written pairs.
    rule_pairs = {"name": "synthetic-preferences", "pairs_per_prompt": 4, **prompts}
    held_out = 0.2
    labelled_pairs = {**rule_pairs, "labels_annotator": ANNOTATOR, "labels_repeat": 4,
                      "labels_val_fraction": held_out}  # fmt: skip
    labels = {"name": "preference-labels", "annotator": ANNOTATOR, "val_fraction": held_out}
    rm_steps = _scaled(300, scale, 20)
    reward = run(
        "demo-reward",
        {"name": "reward-model", "max_steps": rm_steps, "batch_size": 16, "lr": 3.0e-4,
         "likelihood_features": True, "lm_coef": 1.0, "warmup_steps": min(20, rm_steps // 5),
         "eval_interval": max(10, rm_steps // 3), "eval_batches": 10},
        labelled_pairs,
        parent="@pretrain",
    )  # fmt: skip
    # 12 rollouts: the demo's GPT (a general corpus, more entropy than the RLHF recipe's LM)
    # moves fast under rloo; its over-optimisation curve passed 6.3 nats at rollout 10 and 8-9
    # at 15 in two runs, and kept climbing to 15 by 40 whatever the KL controller did (target 5
    # or 8, horizon 100 or 400), at no gain in gold (docs/demo.md).
    rollouts = _scaled(12, scale, 4)
    ppo = run(
        "demo-ppo",
        {"name": "ppo", "reward_run": "@reward", "rollouts": rollouts, "rollout_batch_size": 64,
         "samples_per_prompt": 4, "advantage": "rloo",
         "mini_batch_size": 16, "ppo_epochs": 4, "lr": 3.0e-5, "max_new_tokens": 64,
         "kl_coef": 0.1, "target_kl": 8.0, "kl_horizon": 100,
         "eval_interval": max(2, rollouts // 4), "val_prompts": 64, "samples": 3,
         "curve_interval": max(1, rollouts // 8), "curve_samples": 1, "gold_judge": ANNOTATOR},
        {"name": "synthetic-prompts", **prompts},
        parent="@pretrain",
    )  # fmt: skip
    dpo_steps = _scaled(300, scale, 20)
    dpo = run(
        "demo-dpo",
        {"name": "dpo", "max_steps": dpo_steps, "batch_size": 16, "lr": 5.0e-5,
         "warmup_steps": min(20, dpo_steps // 5), "beta": 0.1,
         "eval_interval": max(10, dpo_steps // 6), "eval_batches": 10},
        rule_pairs,
        parent="@pretrain",
    )  # fmt: skip
    s2s_steps = _scaled(500, scale, 30)
    transformer = run(
        "demo-transformer-copy",
        {"name": "seq2seq", "max_steps": s2s_steps, "max_tokens": 1024, "label_smoothing": 0.1,
         "warmup_steps": min(200, s2s_steps // 3), "lr_factor": 1.0,
         "eval_interval": max(10, s2s_steps // 5), "eval_examples": 300,
         "bleu_tokenize": "char"},
        {"name": "copy", "min_length": 10, "max_length": 10, "num_symbols": 10,
         "train_size": 20000, "val_size": 500, "test_size": 500},
        parent=None,
        architecture={"name": "transformer", "preset": "transformer-tiny"},
        tok={"name": "char", "special_tokens": ["<pad>", "<bos>", "<eos>"]},
    )  # fmt: skip

    # In-context learning by design (configs/prompting-icl.yaml, docs/prompting.md): its small
    # twin (2x64, 0.12M), on a corpus of prompt documents only, 0-16 demonstrations each, a new
    # mapping per prompt for three of its six tasks. 9600 steps cross the phase change in which
    # copying from the context appears (seed 0 on the quiet 2-core machine: k=0 0.32 -> k=8 0.80
    # in 5 1/2 minutes); the recipe's seed, not the demo's, and its own root.
    icl_steps = _scaled(2400 if small else 9600, scale, 40)
    icl = run(
        "demo-icl-small",
        {"name": "pretrain", "max_steps": icl_steps, "batch_size": 16, "lr": 3.0e-3,
         "min_lr": 3.0e-4, "warmup_steps": min(50, icl_steps // 5),
         "eval_interval": max(20, icl_steps // 24), "eval_batches": 5, "sample_tokens": 60,
         "sample_prompt": "\n\nb -> q\nt -> a\nb ->"},
        {"name": "synthetic", "size_chars": 200_000 if small else 2_000_000, "seed": 0,
         "prompt_fraction": 1.0, "instruction_fraction": 0.0, "max_shots": 16,
         "prompt_eval_size": 50,
         "prompt_tasks": ["letter-map", "word-map", "category-label", "random-insertion",
                          "first-letter", "last-letter"]},
        parent=None,
        architecture={"name": "gpt", "n_layer": 2, "n_head": 2, "n_embd": 64, "block_size": 256,
                      "dropout": 0.0},
        tok={"name": "char"},
        run_seed=0,
    )  # fmt: skip

    items = _scaled(20, scale, 4)
    judged = _scaled(100, scale, 12)
    win = {"reward_run": "@reward", "judge": ANNOTATOR, "max_prompts": judged,
           "samples_per_prompt": 4 if not small else 2}  # fmt: skip
    return [
        Step("pretrain", "pre-train a GPT on the synthetic corpus", "run", pretrain,
             seconds=0.078 * pre_steps * (0.3 if small else 1) + 8),
        Step("finetune", "fine-tune it GPT-1 style on sentiment, all labels", "run",
             finetune("demo-gpt1-sentiment", None, "@pretrain"), seconds=FINETUNE_SECONDS * scale + 8),
        Step("finetune-scratch", "the same from scratch (no pre-training)", "run",
             finetune("demo-gpt1-sentiment-scratch", None, None), seconds=FINETUNE_SECONDS * scale + 8),
        Step("finetune-few", f"fine-tune on {few} labels only", "run",
             finetune(f"demo-gpt1-sentiment-{few}", few, "@pretrain"), seconds=FINETUNE_SECONDS * scale + 8),
        Step("finetune-few-scratch", f"{few} labels from scratch", "run",
             finetune(f"demo-gpt1-sentiment-{few}-scratch", few, None), seconds=FINETUNE_SECONDS * scale + 8),
        Step("finetune-few-nolm", f"{few} labels without the auxiliary LM loss", "run",
             finetune(f"demo-gpt1-sentiment-{few}-nolm", few, "@pretrain", lm_coef=0.0),
             seconds=FINETUNE_SECONDS * scale + 8),
        *[
            Step(f"accuracy-{key}", f"task accuracy of {key}", "evaluate", run=key,
                 evaluation="task-accuracy", options={"split": "test"}, seconds=2)
            for key in ("finetune", "finetune-scratch", "finetune-few", "finetune-few-scratch",
                        "finetune-few-nolm")
        ],
        Step("few-shot", "zero-, one- and few-shot prompting of the GPT", "evaluate",
             run="pretrain", evaluation="few-shot",
             options={"scoring": "both", "limit": items, "seeds": 2, "instruction": True},
             seconds=10 * scale + 3),
        Step("icl", "in-context learning by design: a small GPT on prompt documents", "run",
             icl, seconds=0.034 * icl_steps + 8),
        Step("few-shot-icl", "its accuracy against k (the answers exist only in the prompt)",
             "evaluate", run="icl", evaluation="few-shot",
             options={"limit": 50 if not small else 10, "seeds": 3 if not small else 1},
             seconds=8),
        Step("prompting-finetune", f"fine-tune a copy on the {prompt_task} prompt task", "run",
             prompting, seconds=0.06 * prompt_steps + 8),
        Step("few-shot-finetuned", "the fine-tuned line (zero-shot on its task)", "evaluate",
             run="prompting-finetune", evaluation="few-shot",
             options={"tasks": [prompt_task], "shots": [0], "seeds": 1, "limit": items},
             seconds=2),
        Step("pairs", "comparison pairs: two samples of the GPT per prompt", "pairs",
             run="pretrain", options={"count": _scaled(300, scale, 40), "max_tokens": 48,
                                      "temperature": 1.0}, seconds=3 * scale + 1),
        Step("label", f"labels by the simulated annotator {ANNOTATOR!r}", "label",
             options={"annotator": ANNOTATOR}, seconds=1),
        Step("reward", "a reward model on rule-written pairs and the labels", "run", reward,
             needs_labels=ANNOTATOR, seconds=0.14 * rm_steps + 9),
        Step("reward-accuracy", "its accuracy on held-out pairs", "evaluate",
             run="reward", evaluation="preference-accuracy", options={"split": "val"},
             seconds=2),
        Step("reward-agreement", f"its agreement with {ANNOTATOR!r} on held-out labelled pairs",
             "evaluate", run="reward", evaluation="preference-accuracy",
             options={"split": "val"}, dataset=labels, needs_labels=ANNOTATOR, seconds=1),
        Step("ppo", "PPO against the reward model, KL penalty to the GPT", "run", ppo,
             seconds=3.0 * rollouts + 10),
        Step("dpo", "DPO straight from the pairs, no reward model", "run", dpo,
             seconds=0.2 * dpo_steps + 10),
        Step("ppo-win-rate", "PPO judged by the annotator's rule against the GPT", "evaluate",
             run="ppo", evaluation="win-rate", options=dict(win), seconds=8 * scale + 2),
        Step("dpo-win-rate", "DPO judged the same way", "evaluate", run="dpo",
             evaluation="win-rate", options=dict(win), seconds=8 * scale + 2),
        Step("transformer", "beside them: the seq2seq Transformer on the copy task", "run",
             transformer, seconds=0.014 * s2s_steps + 8),
    ]  # fmt: skip


def step_keys() -> list[str]:
    """Every step's key, in order (``--from`` takes one)."""
    return [step.key for step in recipe()]
