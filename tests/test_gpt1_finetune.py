"""The ``finetune`` stage and the ``task-accuracy`` evaluation: learning on easy tasks in process,
the frozen-encoder and non-causal-encoder paths, and pretrain -> fine-tune -> evaluate through the
real CLI and worker processes."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
import yaml
from torch import nn

from workbench.cli import main
from workbench.data import LabelledTask
from workbench.paths import resolve_home
from workbench.runner import build
from workbench.specs import EvaluationContext, RunInfo, StageContext
from workbench.store import open_store
from workbench_gpt.model import GPT, GPTConfig
from workbench_gpt1.config import FinetuneConfig
from workbench_gpt1.evaluation import TaskAccuracyConfig, evaluate_task_accuracy
from workbench_gpt1.finetune import build_finetune
from workbench_gpt1.scoring import score_records
from workbench_gpt1.transforms import SPECIAL_TOKENS
from workbench_text.tokenizers import CharConfig, CharTokenizer

torch.set_num_threads(1)

POSITIVE = ["good", "nice", "fine", "great"]
NEGATIVE = ["bad", "sad", "poor", "awful"]
NOUNS = ["soup", "room", "view", "bill", "song", "bed", "tea", "cake"]


def easy_sentiment(seed: int = 0, n: int = 240) -> LabelledTask:
    """``the <noun> was <adjective>.``: the adjective decides the label."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        label = i % 2
        adjective = rng.choice(POSITIVE if label else NEGATIVE)
        records.append({"text": f"the {rng.choice(NOUNS)} was {adjective}.", "label": label})
    return LabelledTask(
        name="easy",
        task_type="classification",
        labels=["negative", "positive"],
        train=records[:160],
        val=records[160:],
    )


def easy_choice(seed: int = 0, n: int = 240) -> LabelledTask:
    """The right choice is the letter the context names."""
    rng = random.Random(seed)
    letters = list("abcdefgh")
    records = []
    for i in range(n):
        choices = rng.sample(letters, 3)
        label = i % 3
        records.append({"context": f"pick {choices[label]}.", "choices": choices, "label": label})
    return LabelledTask(
        name="choose",
        task_type="multiple_choice",
        labels=["choice 0", "choice 1", "choice 2"],
        train=records[:180],
        val=records[180:],
    )


def tokenizer_for(task: LabelledTask) -> CharTokenizer:
    tokenizer = CharTokenizer(CharConfig(special_tokens=list(SPECIAL_TOKENS)))
    tokenizer.fit(task.texts())
    return tokenizer


def nano_gpt(vocab_size: int, seed: int = 0) -> GPT:
    torch.manual_seed(seed)
    config = GPTConfig(n_layer=2, n_head=2, n_embd=32, block_size=32, dropout=0.0)
    return GPT(config, vocab_size=vocab_size)


def fine_tune(task, model, tokenizer, tmp_path: Path, **options):
    """Build the stage's parts and fit them with a plain Trainer; returns the parts."""
    cfg = FinetuneConfig(**{"eval_interval": 1000, "samples": 0, **options})
    info = RunInfo(id=1, name="t", seed=0, run_dir=tmp_path, home=tmp_path)
    parts = build_finetune(
        StageContext(config=cfg, run=info, model=model, tokenizer=tokenizer, dataset=task)
    )
    pl.seed_everything(0, verbose=False)
    trainer = pl.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=parts.max_steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        **parts.trainer_kwargs,
    )
    trainer.fit(parts.module, datamodule=parts.datamodule)
    return parts, trainer


def val_accuracy(parts) -> float:
    module = parts.module
    return score_records(module.model, module.head, parts.datamodule.val, 64).accuracy


def test_fine_tuning_learns_an_easy_classification_task(tmp_path):
    task = easy_sentiment()
    tokenizer = tokenizer_for(task)
    model = nano_gpt(tokenizer.vocab_size)
    parts, trainer = fine_tune(
        task, model, tokenizer, tmp_path, max_steps=1, lr=1e-9, warmup_steps=0
    )
    chance = val_accuracy(parts)
    parts, trainer = fine_tune(
        task, model, tokenizer, tmp_path, max_steps=150, lr=3e-3, warmup_steps=10
    )
    accuracy = val_accuracy(parts)
    assert chance < 0.75, chance
    assert accuracy >= 0.95, accuracy
    # the final validation ran at the last step and logged the same figure
    assert trainer.callback_metrics["val/accuracy"].item() == pytest.approx(accuracy)
    assert "train/lm_loss" in trainer.callback_metrics


def test_fine_tuning_learns_multiple_choice_from_per_choice_scores(tmp_path):
    task = easy_choice()
    tokenizer = tokenizer_for(task)
    model = nano_gpt(tokenizer.vocab_size)
    parts, _ = fine_tune(task, model, tokenizer, tmp_path, max_steps=200, lr=3e-3, lm_coef=0.0)
    assert parts.module.head.linear.out_features == 1
    assert val_accuracy(parts) >= 0.8


def test_frozen_encoder_trains_only_the_head(tmp_path):
    task = easy_sentiment()
    tokenizer = tokenizer_for(task)
    model = nano_gpt(tokenizer.vocab_size)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    parts, trainer = fine_tune(
        task, model, tokenizer, tmp_path, max_steps=20, lr=1e-2, freeze_encoder=True
    )
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    head = parts.heads["classifier"]
    assert head.linear.weight.abs().max() > 0.05  # moved from its N(0, 0.02) start
    assert "train/lm_loss" not in trainer.callback_metrics


def test_a_parent_s_classifier_head_is_reused_unless_turned_off(tmp_path):
    task = easy_sentiment()
    tokenizer = tokenizer_for(task)
    model = nano_gpt(tokenizer.vocab_size)
    saved = {"linear.weight": torch.full((2, 32), 0.5), "linear.bias": torch.tensor([1.0, -1.0])}
    info = RunInfo(id=2, name="child", seed=0, run_dir=tmp_path, home=tmp_path)

    def head_of(**options):
        ctx = StageContext(
            config=FinetuneConfig(**options),
            run=info,
            model=model,
            tokenizer=tokenizer,
            dataset=task,
            parent_heads={"classifier": saved},
        )
        return build_finetune(ctx).heads["classifier"]

    assert torch.equal(head_of().linear.bias, saved["linear.bias"])
    assert not torch.equal(head_of(reuse_parent_head=False).linear.bias, saved["linear.bias"])


class BagOfEmbeddings(nn.Module):
    """A sequence encoder that is not a language model (running means of embeddings)."""

    def __init__(self, vocab_size: int, hidden_size: int = 16, block_size: int = 32):
        super().__init__()
        self.hidden_size, self.block_size = hidden_size, block_size
        self.embed = nn.Embedding(vocab_size, hidden_size)

    def hidden_states(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.embed(idx).cumsum(1)
        return x / torch.arange(1, idx.size(1) + 1, device=idx.device)[None, :, None]


def test_lm_loss_needs_a_causal_lm_and_the_error_says_how_to_fix_it(tmp_path):
    task = easy_sentiment()
    tokenizer = tokenizer_for(task)
    encoder = BagOfEmbeddings(tokenizer.vocab_size)
    with pytest.raises(ValueError, match=r"lm_coef=0.5 needs a causal LM.*stage.lm_coef: 0"):
        fine_tune(task, encoder, tokenizer, tmp_path, max_steps=1)
    parts, _ = fine_tune(task, encoder, tokenizer, tmp_path, max_steps=200, lr=3e-2, lm_coef=0)
    assert val_accuracy(parts) >= 0.9


def test_evaluation_refuses_a_run_without_a_classifier_head(tmp_path):
    task = easy_sentiment()
    tokenizer = tokenizer_for(task)
    ctx = EvaluationContext(
        config=TaskAccuracyConfig(),
        run=RunInfo(id=4, name="pre", seed=0, run_dir=tmp_path, home=tmp_path),
        model=nano_gpt(tokenizer.vocab_size),
        tokenizer=tokenizer,
        dataset=task,
        run_config={"stage": {"name": "pretrain"}},
    )
    with pytest.raises(ValueError, match="run 4 \\(pre\\) has no 'classifier' head.*'pretrain'"):
        evaluate_task_accuracy(ctx)


# ---------------------------------------------------------------------------------------------
# Through the CLI: worker processes, the store, heads.pt, init_from, evaluate
# ---------------------------------------------------------------------------------------------

SYNTHETIC = {"size_chars": 20000, "task_train_size": 48, "task_eval_size": 24, "seed": 3}
TRAINER = {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 5}
TOKENIZER = {"name": "char", "special_tokens": list(SPECIAL_TOKENS)}
ARCH = {"name": "gpt", "preset": "gpt-nano", "block_size": 64}


def write_yaml(path: Path, config: dict) -> str:
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture
def one_thread(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.mark.slow
def test_pretrain_then_finetune_with_init_from_then_evaluate(home, tmp_path, one_thread, capsys):
    pretrain = {
        "name": "g1-pre",
        "seed": 0,
        "stage": {
            "name": "pretrain",
            "max_steps": 20,
            "batch_size": 8,
            "eval_interval": 20,
            "eval_batches": 1,
            "sample_tokens": 8,
        },
        "architecture": ARCH,
        "tokenizer": TOKENIZER,
        "dataset": {"name": "synthetic", **SYNTHETIC},
        "trainer": TRAINER,
    }
    finetune = {
        "name": "g1-ft",
        "seed": 0,
        "init_from": "g1-pre",
        "stage": {"name": "finetune", "max_steps": 12, "batch_size": 8, "eval_interval": 5},
        "architecture": ARCH,
        "tokenizer": TOKENIZER,
        "dataset": {"name": "synthetic-task", "task": "entailment", **SYNTHETIC},
        "trainer": TRAINER,
    }
    assert main(["run", write_yaml(tmp_path / "pre.yaml", pretrain)]) == 0
    assert main(["run", write_yaml(tmp_path / "ft.yaml", finetune)]) == 0
    store = open_store(resolve_home(home))
    run = store.get_run(2)
    assert run.status == "succeeded" and run.parent_id == 1 and run.step == 12
    names = set(store.metric_names(2))
    expected = {"train/loss", "train/task_loss", "train/lm_loss", "val/loss", "val/accuracy"}
    assert expected <= names
    # validation every 5 steps and at the last one
    accuracy = store.metrics(2, "val/accuracy")
    assert [m.step for m in accuracy] == [5, 10, 12]
    assert all(0.0 <= m.value <= 1.0 for m in accuracy)
    run_dir = resolve_home(home).run_dir(2)
    heads = build.load_heads(run_dir)
    assert heads["classifier"]["linear.weight"].shape == (3, 32)
    assert "heads" in {a.kind for a in store.artifacts(2)}
    # the child's encoder started from the parent's weights, not from scratch
    parent = torch.load(resolve_home(home).run_dir(1) / "model.pt", weights_only=True)
    child = torch.load(run_dir / "model.pt", weights_only=True)
    assert not torch.equal(
        parent["transformer.h.0.attn.c_attn.weight"], child["transformer.h.0.attn.c_attn.weight"]
    )
    samples = [s.prompt + s.text for s in store.samples(2)]
    assert any("<delim>" in s and "=> predicted" in s for s in samples)

    capsys.readouterr()
    assert main(["evaluate", "g1-ft", "task-accuracy", "--set", "split=val", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["metrics"]
    assert result["n"] == 24
    assert result["accuracy"] == pytest.approx(accuracy[-1].value)
    assert {"accuracy/entailment", "accuracy/neutral", "accuracy/contradiction"} <= set(result)
    assert main(["evaluate", "g1-pre", "task-accuracy"]) == 2
    assert "has no 'classifier' head" in capsys.readouterr().err


def test_cli_fine_tunes_a_jsonl_task_from_scratch_and_evaluates_it(
    home, tmp_path, one_thread, capsys
):
    task = easy_sentiment()
    for split in ("train", "val"):
        rows = [{"text": r["text"], "label": task.labels[r["label"]]} for r in task.split(split)]
        (tmp_path / f"{split}.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    config = {
        "name": "jsonl-ft",
        "seed": 0,
        "stage": {
            "name": "finetune",
            "max_steps": 150,
            "lr": 3e-3,
            "warmup_steps": 10,
            "eval_interval": 75,
        },
        "architecture": {"name": "gpt", "preset": "gpt-nano"},
        "tokenizer": TOKENIZER,
        "dataset": {
            "name": "jsonl-task",
            "train": str(tmp_path / "train.jsonl"),
            "val": str(tmp_path / "val.jsonl"),
            "test": str(tmp_path / "val.jsonl"),
            "labels": task.labels,
        },
        "trainer": TRAINER,
    }
    assert main(["run", write_yaml(tmp_path / "ft.yaml", config)]) == 0
    store = open_store(resolve_home(home))
    accuracy = store.metrics(1, "val/accuracy")
    assert [m.step for m in accuracy] == [75, 150]
    assert accuracy[-1].value >= 0.95
    capsys.readouterr()
    assert main(["evaluate", "1", "task-accuracy", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)["metrics"]
    assert result["accuracy"] == pytest.approx(accuracy[-1].value)
    assert result["accuracy/negative"] >= 0.9 and result["accuracy/positive"] >= 0.9
