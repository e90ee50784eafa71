"""Text generation for the Playground: loading finished runs, streaming, chat turns, attention.

Everything here works through the causal-LM protocol (``generate`` and ``block_size``) and the
tokenizer protocol, so any architecture plugin that implements them can be played with. Output is
streamed by generating a few tokens at a time. Chat needs a run whose stage config has a
``turn_template`` such as ``"User: {prompt}\\nAssistant: {response}\\n"``; the conversation so far
is rendered with it and generation stops where the model starts the next turn.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.paths import Paths
from workbench.registry import Registry
from workbench.store import RunRecord

CHUNK_TOKENS = 8
"""Tokens generated between two updates of the streamed text."""

PROMPT_PLACEHOLDER = "{prompt}"
RESPONSE_PLACEHOLDER = "{response}"


class GenerationError(ValueError):
    """A generation request that cannot be served (no saved model, empty prompt, ...)."""


@dataclass(frozen=True)
class SamplingParams:
    """How to pick tokens; ``top_k=None``/``top_p=None`` switch those filters off."""

    max_new_tokens: int = 200
    temperature: float = 0.8
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None

    @classmethod
    def from_inputs(
        cls,
        max_new_tokens: Any,
        temperature: Any,
        top_k: Any,
        top_p: Any,
        seed: Any = None,
    ) -> SamplingParams:
        """Read the Playground's inputs: top-k 0 and top-p 1 mean "off", an empty seed random."""
        try:
            params = cls(
                max_new_tokens=int(max_new_tokens),
                temperature=float(temperature),
                top_k=int(top_k) if top_k not in (None, "") and int(top_k) > 0 else None,
                top_p=float(top_p) if top_p not in (None, "") and float(top_p) < 1.0 else None,
                seed=int(seed) if seed not in (None, "") else None,
            )
        except (TypeError, ValueError) as exc:
            raise GenerationError(f"invalid sampling setting: {exc}") from None
        if params.max_new_tokens < 1:
            raise GenerationError("max tokens must be at least 1")
        if params.temperature < 0:
            raise GenerationError("temperature must not be negative")
        if params.top_p is not None and params.top_p <= 0:
            raise GenerationError("top-p must be above 0")
        return params


class ModelCache:
    """The last few loaded runs (model + tokenizer), keyed by run id and weights file version."""

    def __init__(self, size: int = 3) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[int, int], Any] = OrderedDict()

    def load(self, run: RunRecord, paths: Paths, registry: Registry) -> Any:
        """The run's :class:`workbench.runner.build.LoadedRun`, loaded once and reused."""
        from workbench.runner.build import MODEL_FILE, load_run

        run_dir = paths.run_dir(run.id)
        weights = run_dir / MODEL_FILE
        if not weights.is_file():
            raise GenerationError(
                f"run {run.id} ({run.name}) has no saved model yet (it is {run.status})"
            )
        key = (run.id, weights.stat().st_mtime_ns)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            loaded = load_run(run.config, run_dir, registry)
            self._items[key] = loaded
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return loaded


def has_saved_model(paths: Paths, run_id: int) -> bool:
    from workbench.runner.build import MODEL_FILE

    return Path(paths.run_dir(run_id) / MODEL_FILE).is_file()


def _encode_prompt(tokenizer: Any, prompt: str) -> list[int]:
    try:
        ids = list(tokenizer.encode(prompt))
    except (KeyError, ValueError) as exc:
        raise GenerationError(
            f"the prompt cannot be encoded by this run's tokenizer: {exc}"
        ) from None
    if not ids:
        raise GenerationError("the prompt encodes to no tokens; type something first")
    return ids


def _cut_at_stop(text: str, stops: Sequence[str]) -> tuple[str, bool]:
    hits = [text.index(s) for s in stops if s and s in text]
    if not hits:
        return text, False
    return text[: min(hits)], True


def stream_completion(
    loaded: Any,
    prompt: str,
    params: SamplingParams,
    stops: Sequence[str] = (),
    chunk: int = CHUNK_TOKENS,
) -> Iterator[str]:
    """Yield the completion of ``prompt`` so far, a few tokens at a time, ending before the
    first of ``stops``. The context window slides over the last ``block_size`` tokens."""
    import torch

    model, tokenizer = loaded.model, loaded.tokenizer
    context = _encode_prompt(tokenizer, prompt)
    block = int(getattr(model, "block_size", len(context)))
    generator = torch.Generator().manual_seed(params.seed) if params.seed is not None else None
    stop_ids = [tokenizer.encode(s) for s in stops if s]
    produced: list[int] = []
    while len(produced) < params.max_new_tokens:
        want = min(chunk, params.max_new_tokens - len(produced))
        idx = torch.tensor([context[-block:]], dtype=torch.long)
        with torch.no_grad():
            new = model.generate(
                idx,
                want,
                temperature=params.temperature,
                top_k=params.top_k,
                top_p=params.top_p,
                stop_sequences=stop_ids or None,
                generator=generator,
            )[0]
        produced.extend(new)
        context.extend(new)
        text, stopped = _cut_at_stop(tokenizer.decode(produced), stops)
        yield text
        if stopped or len(new) < want:
            return


# ---------------------------------------------------------------------------------------------
# Chat
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TurnTemplate:
    """One exchange, ``before + prompt + middle + response + after``, e.g. ``"User: {prompt}\\n
    Assistant: {response}\\n"``."""

    before: str
    middle: str
    after: str

    @classmethod
    def parse(cls, template: str) -> TurnTemplate:
        if not isinstance(template, str):
            raise GenerationError(f"turn_template must be a string, got {type(template).__name__}")
        if template.count(PROMPT_PLACEHOLDER) != 1 or template.count(RESPONSE_PLACEHOLDER) != 1:
            raise GenerationError(
                "turn_template must contain {prompt} and {response} exactly once each"
            )
        before, rest = template.split(PROMPT_PLACEHOLDER)
        if RESPONSE_PLACEHOLDER not in rest:
            raise GenerationError("turn_template must put {prompt} before {response}")
        middle, after = rest.split(RESPONSE_PLACEHOLDER)
        return cls(before, middle, after)

    def render(self, history: Sequence[tuple[str, str]], message: str) -> str:
        """The text the model continues: every past exchange, then the new prompt."""
        past = "".join(f"{self.before}{u}{self.middle}{a}{self.after}" for u, a in history)
        return f"{past}{self.before}{message}{self.middle}"

    def stops(self) -> list[str]:
        """Where a response ends: the end-of-turn text, or the start of the next turn."""
        out = []
        if self.after.strip():
            out.append(self.after)
        if self.before.strip():
            out.append(self.after + self.before)
        if not out and self.after:
            out.append(self.after)
        return out


def turn_template_of(run: RunRecord) -> str | None:
    """The turn template the run was trained with (its stage's ``turn_template``), if any."""
    stage = run.config.get("stage") if isinstance(run.config, dict) else None
    value = stage.get("turn_template") if isinstance(stage, dict) else None
    return value if isinstance(value, str) and value else None


def history_pairs(messages: Sequence[Any]) -> list[tuple[str, str]]:
    """(user, assistant) pairs from a Chatbot's messages (dicts or message objects)."""
    pairs: list[tuple[str, str]] = []
    pending: str | None = None
    for message in messages or []:
        role = message.get("role") if isinstance(message, dict) else getattr(message, "role", "")
        content = (
            message.get("content") if isinstance(message, dict) else getattr(message, "content", "")
        )
        text = _content_text(content)
        if role == "user":
            pending = text
        elif role == "assistant" and pending is not None:
            pairs.append((pending, text))
            pending = None
    return pairs


def _content_text(content: Any) -> str:
    """The text of a message's content: a string, or Gradio's list of typed parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", "")) if isinstance(part, dict) else str(part) for part in content
        )
    return "" if content is None else str(content)


# ---------------------------------------------------------------------------------------------
# Attention
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttentionSnapshot:
    """Attention of every layer and head over one token sequence."""

    tokens: list[str]
    weights: list[list[list[list[float]]]]
    """``weights[layer][head][query][key]``."""

    @property
    def layers(self) -> int:
        return len(self.weights)

    @property
    def heads(self) -> int:
        return len(self.weights[0]) if self.weights else 0


def attention_snapshot(loaded: Any, text: str) -> AttentionSnapshot | None:
    """The attention weights the model gives ``text`` (its last ``block_size`` tokens), or None
    when the architecture does not expose ``attention_weights``."""
    import torch

    model, tokenizer = loaded.model, loaded.tokenizer
    method = getattr(model, "attention_weights", None)
    if not callable(method):
        return None
    ids = _encode_prompt(tokenizer, text)
    ids = ids[-int(getattr(model, "block_size", len(ids))) :]
    with torch.no_grad():
        layers = method(torch.tensor([ids], dtype=torch.long))
    tokens = [tokenizer.decode([i]) for i in ids]
    weights = [layer[0].float().tolist() for layer in layers]
    return AttentionSnapshot(tokens=tokens, weights=weights)
