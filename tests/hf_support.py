"""Helpers for the Hugging Face interop tests: a tiny, randomly initialised GPT-2 folder.

Nothing is downloaded: the tokenizer is a byte-level BPE trained here on a few sentences and the
model is ``GPT2LMHeadModel(GPT2Config(...))`` with 2 layers of width 16.
"""

from __future__ import annotations

from pathlib import Path

TEXT = [
    f"the {animal} sees {n} {thing}s, and {animal}'s friend waits."
    for n in range(30)
    for animal, thing in (("cat", "bird"), ("dog", "ball"), ("owl", "mouse"))
]


def make_tiny_gpt2(folder: Path, n_positions: int = 64, seed: int = 0) -> Path:
    """Save a tiny random GPT-2 and its tokenizer (``<|endoftext|>`` as bos/eos/unk) to
    ``folder``; returns ``folder``."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(TEXT, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        model_max_length=n_positions,
    )
    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=n_positions,
        n_embd=16,
        n_layer=2,
        n_head=2,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        # Wider than GPT-2's 0.02 so that a random model's greedy text varies.
        initializer_range=0.3,
    )
    model = GPT2LMHeadModel(config)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    return folder


def finished_run(home: Path, config: dict, model, tokenizer, heads: dict | None = None) -> int:
    """Record ``config`` as a succeeded run of the workbench home ``home`` whose saved weights
    are ``model``'s and whose tokenizer is ``tokenizer`` (already fitted), without training: the
    files the worker would have written, written directly. Returns the run id."""
    import torch

    from workbench.config import resolve_config
    from workbench.paths import resolve_home
    from workbench.registry import load_registry
    from workbench.runner.build import HEADS_FILE, MODEL_FILE, TOKENIZER_DIR
    from workbench.store import open_store

    paths = resolve_home(home).ensure()
    store = open_store(paths)
    resolved = resolve_config(config, load_registry())
    run_id = store.create_run(
        name=config["name"],
        stage=resolved.plugin("stage"),
        architecture=resolved.plugin("architecture"),
        dataset=resolved.plugin("dataset"),
        tokenizer=resolved.plugin("tokenizer"),
        config=resolved.to_dict(),
        seed=resolved.run.seed,
        plugin_versions={},
        package_versions={},
    )
    run_dir = paths.run_dir(run_id)
    (run_dir / TOKENIZER_DIR).mkdir(parents=True)
    tokenizer.save(run_dir / TOKENIZER_DIR)
    torch.save(model.state_dict(), run_dir / MODEL_FILE)
    if heads:
        torch.save({name: head.state_dict() for name, head in heads.items()}, run_dir / HEADS_FILE)
    store.set_status(run_id, "running")
    store.set_status(run_id, "succeeded")
    return run_id


def gpt_config(name: str, corpus: Path, tokenizer: dict, **architecture) -> dict:
    """A pretrain run config of a tiny ``gpt`` on the text file ``corpus``."""
    return {
        "name": name,
        "seed": 0,
        "stage": {"name": "pretrain", "max_steps": 20, "batch_size": 4, "lr": 1e-2,
                  "warmup_steps": 2, "eval_interval": 10, "eval_batches": 1, "sample_tokens": 10},
        "architecture": {"name": "gpt", "n_layer": 2, "n_head": 2, "n_embd": 16,
                         "block_size": 32, **architecture},
        "tokenizer": tokenizer,
        "dataset": {"name": "text-file", "path": str(corpus)},
        "trainer": {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 5},
    }  # fmt: skip


def write_corpus(folder: Path) -> Path:
    """:data:`TEXT` as a text file in ``folder``."""
    path = folder / "corpus.txt"
    path.write_text("\n".join(TEXT * 2), encoding="utf-8")
    return path
