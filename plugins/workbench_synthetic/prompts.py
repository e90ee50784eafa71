"""Few-shot prompt tasks: the string and world functions (:func:`prompt_answer`), the prompt
format an evaluator must reproduce (:data:`PROMPT_FORMAT`, :func:`build_prompt`), parsing prompt
documents back (:func:`parse_prompt_document`, :func:`prompt_document_task`) and the sampler that
writes prompt documents while keeping held-out evaluation inputs out of the text.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from workbench_synthetic.config import (
    DOC_SEP,
    EPISODIC_PROMPT_TASKS,
    ICL_INSTRUCTIONS,
    ICL_PROMPT_TASKS,
    PROMPT_INSTRUCTIONS,
    PROMPT_SEPARATOR,
    PROMPT_TASK_NAMES,
    STRING_PROMPT_TASKS,
    WORLD_PROMPT_TASKS,
    SyntheticConfig,
)
from workbench_synthetic.icl import (
    episode,
    heldout_episodes,
    random_insertion_input,
    remove_symbols,
)
from workbench_synthetic.lexicon import ANTONYM_PAIRS
from workbench_synthetic.world import _RESERVED, World, as_world


def _shift(word: str) -> str:
    return "".join(chr((ord(ch) - 97 + 1) % 26 + 97) for ch in word)


_STRING_FUNCTIONS: dict[str, Callable[[str], str]] = {
    "reverse": lambda w: w[::-1],
    "sort": lambda w: "".join(sorted(w)),
    "uppercase": str.upper,
    "shift": _shift,
    "first-letter": lambda w: w[0],
    "last-letter": lambda w: w[-1],
    "double-letters": lambda w: "".join(ch + ch for ch in w),
    "count-items": lambda w: str(len(w.split())),
    "random-insertion": remove_symbols,
}


def prompt_answer(task: str, inp: str, world: World | Mapping[str, Any] | None = None) -> str:
    """The correct output of prompt task ``task`` for input ``inp`` (world tasks need ``world``)."""
    if task in _STRING_FUNCTIONS:
        return _STRING_FUNCTIONS[task](inp)
    if task in EPISODIC_PROMPT_TASKS:
        raise ValueError(
            f"prompt task {task!r} draws a new mapping for every prompt: its answer comes from "
            "the prompt's own demonstrations"
        )
    if world is None:
        raise ValueError(f"prompt task {task!r} needs the world")
    w = as_world(world)
    if task == "antonym":
        return w.antonyms[inp]
    if task == "capital-of":
        return w.country[inp].capital
    if task == "country-of":
        return w.town[inp].country
    if task == "home-of":
        return w.person[inp].home
    raise KeyError(f"unknown prompt task {task!r}")


def _world_task_domain(task: str, world: World) -> list[str]:
    if task == "antonym":
        return [w for pair in ANTONYM_PAIRS for w in pair]
    if task == "capital-of":
        return [c.name for c in world.countries]
    if task == "country-of":
        return [t.name for t in world.towns]
    if task == "home-of":
        return [p.name for p in world.people]
    raise KeyError(task)


def _random_word(rng: random.Random) -> str:
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 6)))


def _random_items(rng: random.Random) -> str:
    return " ".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(1, 9)))


def _sample_string_input(task: str, rng: random.Random) -> str:
    return _random_items(rng) if task == "count-items" else _random_word(rng)


PROMPT_FORMAT: dict[str, Any] = {
    "instruction_line": "{instruction}\n",
    "demonstration": "{input}" + PROMPT_SEPARATOR + "{output}\n",
    "query": "{input}" + PROMPT_SEPARATOR.rstrip(),
    "answer": " {output}",
    "stop": "\n",
    "separator": PROMPT_SEPARATOR,
    "document_separator": DOC_SEP,
    "instructions": dict(PROMPT_INSTRUCTIONS),
}
"""How prompt documents are written; ``extras["prompt_format"]`` adds ``max_shots`` and
``instruction_fraction``. A prompt is ``[instruction_line] + k * demonstration + query`` and the
model should continue with ``answer`` followed by ``stop``."""


def build_prompt(
    demonstrations: Iterable[tuple[str, str]] | Iterable[Mapping[str, str]],
    query: str,
    instruction: str | None = None,
) -> str:
    """The prompt an evaluator feeds the model: optional instruction line, ``k`` demonstrations
    (``(input, output)`` pairs or ``{"input", "output"}`` dicts), then ``"<query> ->"``."""
    lines = [] if instruction is None else [instruction + "\n"]
    for demo in demonstrations:
        inp, out = (demo["input"], demo["output"]) if isinstance(demo, Mapping) else demo
        lines.append(f"{inp}{PROMPT_SEPARATOR}{out}\n")
    return "".join(lines) + f"{query}{PROMPT_SEPARATOR.rstrip()}"


@dataclass
class PromptDocument:
    """A parsed prompt document: the task named by its instruction (None without one) and its
    ``input -> output`` pairs, the last of which is the query with its answer."""

    task: str | None
    instruction: str | None
    pairs: list[tuple[str, str]]


_TASK_BY_INSTRUCTION = {
    text: task for task, text in {**PROMPT_INSTRUCTIONS, **ICL_INSTRUCTIONS}.items()
}


def parse_prompt_document(document: str) -> PromptDocument | None:
    """Parse a prompt document back; None when ``document`` is not one."""
    lines = document.split("\n")
    instruction = None
    if lines and lines[0] in _TASK_BY_INSTRUCTION:
        instruction = lines.pop(0)
    if not lines:
        return None
    pairs = []
    for line in lines:
        inp, sep, out = line.partition(PROMPT_SEPARATOR)
        if not sep or not inp or not out or PROMPT_SEPARATOR in out:
            return None
        pairs.append((inp, out))
    return PromptDocument(_TASK_BY_INSTRUCTION.get(instruction or ""), instruction, pairs)


def prompt_document_task(doc: PromptDocument, world: World | Mapping[str, Any]) -> str | None:
    """The task a parsed prompt document demonstrates: named by its instruction, else the first
    task whose function maps every input to its output."""
    if doc.task is not None:
        return doc.task
    for task in PROMPT_TASK_NAMES:
        try:
            if all(prompt_answer(task, i, world) == o for i, o in doc.pairs):
                return task
        except (KeyError, IndexError):
            continue
    return None


class _PromptSampler:
    """Draws prompt-task items, keeping the held-out evaluation inputs out of the text."""

    def __init__(self, world: World, config: SyntheticConfig, seed: int) -> None:
        self.world, self.config = world, config
        rng = random.Random(f"workbench-synthetic/{seed}/prompt-heldout")
        n = config.prompt_eval_size
        self.heldout_candidates: dict[str, list[str]] = {}
        for task in STRING_PROMPT_TASKS:
            # Extra candidates: those that turn out to be words of the text are dropped later.
            cands: list[str] = []
            seen: set[str] = set()
            while len(cands) < n + n // 2 + 5:
                word = _sample_string_input(task, rng)
                if word not in seen and word not in _RESERVED:
                    seen.add(word)
                    cands.append(word)
            self.heldout_candidates[task] = cands
        self.blocked_words = {w for t in STRING_PROMPT_TASKS if t != "count-items"
                              for w in self.heldout_candidates[t]}  # fmt: skip
        self.blocked_items = set(self.heldout_candidates["count-items"])
        self.allowed: dict[str, list[str]] = {}
        self.heldout_world: dict[str, list[str]] = {}
        for task in WORLD_PROMPT_TASKS:
            domain = _world_task_domain(task, world)
            order = list(domain)
            rng.shuffle(order)
            n_held = min(n, max(1, len(order) // 4))
            held = set(order[:n_held])
            self.heldout_world[task] = [x for x in domain if x in held]
            self.allowed[task] = [x for x in domain if x not in held]
        # The in-context-learning tasks draw from their own stream, and only when named, so the
        # default corpus is byte-identical to one generated before they existed.
        self.icl_tasks = [t for t in config.prompt_tasks if t in ICL_PROMPT_TASKS]
        self.heldout_icl: dict[str, list[dict[str, Any]]] = {}
        icl_rng = random.Random(f"workbench-synthetic/{seed}/prompt-heldout-icl")
        pool_size = max(16, 2 * config.max_shots)
        for task in self.icl_tasks:
            if task in EPISODIC_PROMPT_TASKS:
                self.heldout_icl[task] = heldout_episodes(task, icl_rng, n, pool_size, world)
            else:
                inputs: list[str] = []
                while len(inputs) < n:
                    inp = random_insertion_input(icl_rng)
                    if inp not in inputs:
                        inputs.append(inp)
                self.heldout_icl[task] = [{"input": x, "output": remove_symbols(x)} for x in inputs]
        self.blocked_insertions = {
            str(item["input"]) for item in self.heldout_icl.get("random-insertion", [])
        }

    def sample(self, task: str, rng: random.Random, count: int) -> list[tuple[str, str]]:
        """Up to ``count`` items with distinct inputs that are not held out (an episodic task's
        lines share one mapping and repeat inputs)."""
        if task in EPISODIC_PROMPT_TASKS:
            return episode(task, rng, count, self.world)
        if task == "random-insertion":
            drawn: dict[str, str] = {}
            while len(drawn) < count:
                inp = random_insertion_input(rng)
                if inp not in self.blocked_insertions:
                    drawn.setdefault(inp, remove_symbols(inp))
            return list(drawn.items())
        if task in self.allowed:
            inputs = rng.sample(self.allowed[task], min(count, len(self.allowed[task])))
            return [(x, prompt_answer(task, x, self.world)) for x in inputs]
        items: list[tuple[str, str]] = []
        seen: set[str] = set()
        while len(items) < count:
            inp = _sample_string_input(task, rng)
            out = prompt_answer(task, inp)
            if inp in seen:
                continue
            if task == "count-items":
                if inp in self.blocked_items:
                    continue
            elif inp in self.blocked_words or out.lower() in self.blocked_words or inp in _RESERVED:
                # Random words never collide with the lexicon, so no held-out antonym starts a
                # prompt line either.
                continue
            seen.add(inp)
            items.append((inp, out))
        return items

    def document(self, rng: random.Random) -> str:
        task = rng.choice(self.config.prompt_tasks)
        k = rng.randint(0, self.config.max_shots)
        pairs = self.sample(task, rng, k + 1)
        lines = []
        if rng.random() < self.config.instruction_fraction:
            lines.append({**PROMPT_INSTRUCTIONS, **ICL_INSTRUCTIONS}[task])
        lines += [f"{i}{PROMPT_SEPARATOR}{o}" for i, o in pairs]
        return "\n".join(lines)

    def heldout(self, text_words: set[str]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {}
        for task in PROMPT_TASK_NAMES:
            if task in self.heldout_world:
                inputs = self.heldout_world[task]
            else:
                inputs = [
                    w for w in self.heldout_candidates[task]
                    if task == "count-items" or w not in text_words
                ][: self.config.prompt_eval_size]  # fmt: skip
            out[task] = [{"input": x, "output": prompt_answer(task, x, self.world)} for x in inputs]
        out.update(self.heldout_icl)
        return out
