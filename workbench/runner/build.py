"""Building a run's parts from its resolved config: dataset, tokenizer, model.

Shared by the worker (training) and by commands that use a finished run (generate, evaluate).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from workbench.config import ResolvedConfig
from workbench.files import atomic_file
from workbench.operations.datasets import dataset_context
from workbench.paths import Paths
from workbench.registry import Registry
from workbench.specs import ModelContext

MODEL_FILE = "model.pt"
HEADS_FILE = "heads.pt"
TOKENIZER_DIR = "tokenizer"


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` into a temporary file beside ``path``, then rename into place."""
    with atomic_file(path, "wb") as handle:
        torch.save(obj, handle)


def build_dataset(resolved: ResolvedConfig, registry: Registry, paths: Paths) -> Any:
    """The run's own dataset (its options already validated by the resolved config)."""
    spec = registry.dataset(resolved.plugin("dataset"))
    return spec.factory(resolved.options["dataset"], dataset_context(paths, resolved.run.seed))


def new_tokenizer(resolved: ResolvedConfig, registry: Registry) -> Any:
    spec = registry.tokenizer(resolved.plugin("tokenizer"))
    return spec.factory(resolved.options["tokenizer"])


def fit_tokenizer(
    resolved: ResolvedConfig, registry: Registry, dataset: Any, cache_dir: Path
) -> Any:
    """A new tokenizer fitted on the dataset's texts; for one that declares ``fit_from_texts``,
    loaded from the home's cache when the same texts were fitted with the same options before
    (:func:`workbench.content_cache.fit_tokenizer`)."""
    from workbench import content_cache

    tokenizer = new_tokenizer(resolved, registry)
    texts = list(dataset.texts()) if hasattr(dataset, "texts") else []
    if not getattr(tokenizer, "fit_from_texts", False) or not texts:
        tokenizer.fit(texts)
        return tokenizer
    name = resolved.plugin("tokenizer")
    owner = registry.owners.get(("tokenizers", name))
    identity = {
        "tokenizer": name,
        "class": f"{type(tokenizer).__module__}.{type(tokenizer).__qualname__}",
        "version": registry.plugin_versions().get(owner) if owner else None,
        "options": resolved.options["tokenizer"].model_dump(mode="json"),
    }
    content_cache.fit_tokenizer(tokenizer, texts, identity, cache_dir)
    return tokenizer


def load_tokenizer(resolved: ResolvedConfig, registry: Registry, directory: Path) -> Any:
    tokenizer = new_tokenizer(resolved, registry)
    tokenizer.load(directory)
    return tokenizer


def build_model(resolved: ResolvedConfig, registry: Registry, vocab_size: int) -> torch.nn.Module:
    spec = registry.architecture(resolved.plugin("architecture"))
    return spec.factory(resolved.options["architecture"], ModelContext(vocab_size=vocab_size))


def load_weights(model: torch.nn.Module, path: Path) -> list[str]:
    """Load a saved ``state_dict`` into ``model``; keys of ``model`` absent from the file (e.g. a
    new head) keep their fresh initialisation. Returns those missing keys. Errors if nothing
    matches or a shape differs."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    own = model.state_dict()
    matched = [key for key in state if key in own]
    if not matched:
        raise ValueError(f"{path}: no parameter names match the model")
    for key in matched:
        if state[key].shape != own[key].shape:
            raise ValueError(
                f"{path}: {key} has shape {tuple(state[key].shape)}, the model expects "
                f"{tuple(own[key].shape)}"
            )
    result = model.load_state_dict({k: state[k] for k in matched}, strict=False)
    return list(result.missing_keys)


@dataclass
class LoadedRun:
    """A finished run's model and tokenizer, ready for generation or evaluation."""

    resolved: ResolvedConfig
    model: torch.nn.Module
    tokenizer: Any
    heads: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    """State dicts of the heads the run's stage added (empty when it added none)."""


def save_heads(heads: dict[str, torch.nn.Module], path: Path) -> None:
    """Write the state dicts of a stage's heads, by name, atomically."""
    atomic_torch_save({name: head.state_dict() for name, head in heads.items()}, path)


def load_heads(run_dir: Path) -> dict[str, dict[str, torch.Tensor]]:
    """The head state dicts a run saved (``{}`` when it saved none)."""
    path = run_dir / HEADS_FILE
    if not path.is_file():
        return {}
    return torch.load(path, map_location="cpu", weights_only=True)


def load_run(run_config: dict[str, Any], run_dir: Path, registry: Registry) -> LoadedRun:
    """Rebuild a run's tokenizer and model and load its saved weights."""
    from workbench.config import resolve_config

    resolved = resolve_config(run_config, registry)
    tokenizer_dir = run_dir / TOKENIZER_DIR
    weights = run_dir / MODEL_FILE
    if not tokenizer_dir.is_dir() or not weights.is_file():
        raise FileNotFoundError(
            f"{run_dir}: no saved model (the run has not finished successfully)"
        )
    tokenizer = load_tokenizer(resolved, registry, tokenizer_dir)
    model = build_model(resolved, registry, tokenizer.vocab_size)
    load_weights(model, weights)
    model.eval()
    return LoadedRun(resolved=resolved, model=model, tokenizer=tokenizer, heads=load_heads(run_dir))


def run_loader(store: Any, paths: Paths, registry: Registry) -> Callable[[int | str], LoadedRun]:
    """A function loading a finished run (id or name) of this home, for stages and evaluations
    that use a second model (a reward model, a reference policy)."""

    def load(ref: int | str) -> LoadedRun:
        run = store.find_run(ref)
        return load_run(run.config, paths.run_dir(run.id), registry)

    return load
