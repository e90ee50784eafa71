"""The prompting plugin: prompts byte-exact in the corpus format, held-out items never shown as
demonstrations, the metrics, accuracy that depends on the demonstrations, forward passes only,
and the ``prompt-task-text`` dataset for the fine-tuned comparison."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from workbench.config import ConfigError, resolve_config
from workbench.data import TextCorpus
from workbench.registry import load_registry
from workbench.specs import DatasetContext, EvaluationContext, ModelContext, RunInfo
from workbench_prompting.fewshot import FewShotConfig, build_queries, evaluate_few_shot
from workbench_prompting.prompts import NotAPromptCorpus, PromptFormat, prompt_extras
from workbench_prompting.scoring import continuation_logprobs, greedy_answers
from workbench_prompting.task_text import PromptTaskTextConfig, load_prompt_task_text
from workbench_synthetic import (
    PROMPT_TASK_NAMES,
    SyntheticConfig,
    build_prompt,
    generate_corpus,
    parse_prompt_document,
    prompt_answer,
    prompt_document_task,
)

SMALL = {"size_chars": 20_000, "prompt_fraction": 0.6}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    # On a busy 2-core machine two torch threads stall each other.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def corpus() -> TextCorpus:
    return generate_corpus(SyntheticConfig(**SMALL), 0)


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.fixture(scope="module")
def tokenizer(corpus, registry):
    spec = registry.tokenizer("char")
    tok = spec.factory(spec.config())
    tok.fit(corpus.texts())
    return tok


def tiny_gpt(registry, vocab_size: int, block_size: int = 128) -> torch.nn.Module:
    spec = registry.architecture("gpt")
    options = spec.config(n_layer=2, n_head=2, n_embd=16, block_size=block_size)
    torch.manual_seed(0)
    return spec.factory(options, ModelContext(vocab_size=vocab_size))


def run_eval(model, tokenizer, dataset, samples=None, progress=None, **options) -> dict[str, float]:
    ctx = EvaluationContext(
        progress=progress,
        config=FewShotConfig(**options),
        run=RunInfo(id=1, name="t", seed=0, run_dir=Path("."), home=Path(".")),
        model=model,
        tokenizer=tokenizer,
        dataset=dataset,
        log_sample=(lambda s, p, t: samples.append((s, p, t))) if samples is not None else None,
    )
    if samples is None:
        ctx.log_sample = lambda s, p, t: None
    return evaluate_few_shot(ctx)


class DemoReader(torch.nn.Module):
    """A fake causal LM that answers correctly only when the prompt shows >= 1 demonstration.

    It reads the prompt's demonstrations, finds the task whose function maps every demo input to
    its output, and writes that task's answer for the query; with no demonstration it writes
    ``?``. It records how many demonstrations each prompt held.
    """

    block_size = 4096

    def __init__(self, tokenizer, world) -> None:
        super().__init__()
        self.tokenizer, self.world = tokenizer, world
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.demo_counts: list[int] = []

    def answer(self, prompt: str) -> str:
        lines = [line for line in prompt.strip("\n").split("\n") if " -> " in line]
        query = prompt.rstrip().split("\n")[-1].removesuffix(" ->")
        pairs = [tuple(line.split(" -> ", 1)) for line in lines]
        self.demo_counts.append(len(pairs))
        if not pairs:
            return "?"
        for task in PROMPT_TASK_NAMES:
            try:
                if all(prompt_answer(task, i, self.world) == o for i, o in pairs):
                    return prompt_answer(task, query, self.world)
            except (KeyError, IndexError):
                continue
        return "?"

    def generate(self, idx, max_new_tokens, *, temperature=1.0, stop_sequences=None, **_):
        assert temperature == 0.0, "the evaluation must decode greedily"
        rows = []
        for row in idx.tolist():
            text = " " + self.answer(self.tokenizer.decode(row))
            rows.append(self.tokenizer.encode(text)[:max_new_tokens])
        return rows


# ---------------------------------------------------------------------------------------------
# Prompt construction
# ---------------------------------------------------------------------------------------------


def test_prompt_format_matches_build_prompt_byte_for_byte(corpus):
    _, demos, fmt = prompt_extras(corpus)
    for task in PROMPT_TASK_NAMES:
        shown = demos[task][:3]
        for instruction in (None, fmt.instruction_for(task)):
            for k in range(len(shown) + 1):
                ours = fmt.prompt(shown[:k], "qwerty", instruction)
                assert ours == build_prompt(shown[:k], "qwerty", instruction)
    assert fmt.expected("obart") == " obart"
    assert fmt.prompt([{"input": "abc", "output": "cba"}], "xyz", "Reverse the letters:") == (
        "Reverse the letters:\nabc -> cba\nxyz ->"
    )


def test_prompts_rebuild_the_corpus_own_prompt_documents(corpus):
    """Every prompt document of the training text is our prompt plus the expected answer."""
    _, _, fmt = prompt_extras(corpus)
    checked = 0
    for document in corpus.train.split(fmt.document_separator):
        parsed = parse_prompt_document(document)
        if parsed is None or prompt_document_task(parsed, corpus.extras["world"]) is None:
            continue
        demos = [{"input": i, "output": o} for i, o in parsed.pairs[:-1]]
        query, output = parsed.pairs[-1]
        rebuilt = fmt.prompt(demos, query, parsed.instruction) + fmt.expected(output)
        assert rebuilt == document
        checked += 1
    assert checked > 20


def test_queries_are_built_in_the_corpus_format_and_never_show_held_out_items(corpus):
    heldout, demos, fmt = prompt_extras(corpus)
    queries = build_queries(
        heldout, demos, fmt, tasks=PROMPT_TASK_NAMES, shots=[0, 1, 8], seeds=3, limit=None,
        instruction=True, prefix="\n\n",
    )  # fmt: skip
    assert queries
    for q in queries:
        held = {item["input"] for item in heldout[q.task]}
        allowed = {(d["input"], d["output"]) for d in demos[q.task]}
        body = q.prompt.removeprefix("\n\n")
        lines = body.split("\n")
        assert lines[0] == fmt.instructions[q.task]
        shown = [tuple(line.split(" -> ")) for line in lines[1:-1]]
        assert len(shown) == min(q.k, len(demos[q.task]))
        assert all(pair in allowed for pair in shown)
        assert not {inp for inp, _ in shown} & held, "a held-out item was used as a demo"
        assert lines[-1] == heldout[q.task][q.index]["input"] + " ->"
        assert body == build_prompt(shown, lines[-1].removesuffix(" ->"), lines[0])
    # k=0 is built once; every k>0 once per seed.
    n_items = sum(len(items) for items in heldout.values())
    assert len(queries) == n_items * (1 + 3 + 3)


def test_demonstrations_nest_across_k_and_differ_across_seeds(corpus):
    heldout, demos, fmt = prompt_extras(corpus)
    qs = build_queries(
        heldout, demos, fmt, tasks=["reverse"], shots=[2, 4], seeds=2, limit=1, instruction=False
    )
    by = {(q.k, q.seed): q.prompt for q in qs}
    query_line = heldout["reverse"][0]["input"] + " ->"
    assert by[(4, 0)].removesuffix(query_line).startswith(by[(2, 0)].removesuffix(query_line))
    assert by[(4, 0)] != by[(4, 1)]


def test_non_prompt_dataset_is_refused_clearly(registry, tokenizer):
    model = tiny_gpt(registry, tokenizer.vocab_size)
    with pytest.raises(NotAPromptCorpus, match="synthetic"):
        run_eval(model, tokenizer, TextCorpus("some text", "more"))
    with pytest.raises(ValueError, match="unknown prompt task"):
        run_eval(model, tokenizer, generate_corpus(SyntheticConfig(**SMALL), 0), tasks=["nope"])


def test_config_validates_shots():
    assert FewShotConfig(shots=[4, 0, 4]).shots == [0, 4]
    with pytest.raises(ValueError):
        FewShotConfig(shots=[])
    with pytest.raises(ValueError):
        FewShotConfig(shots=[-1])


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


def test_accuracy_rises_with_a_demonstration(corpus, tokenizer):
    model = DemoReader(tokenizer, corpus.extras["world"])
    metrics = run_eval(model, tokenizer, corpus, shots=[0, 1, 4], seeds=2, limit=10)
    assert metrics["acc/k=0"] == 0.0
    assert metrics["acc/k=1"] > 0.8
    assert metrics["acc/k=4"] > metrics["acc/k=0"]
    assert metrics["acc_std/k=0"] == 0.0
    # capital-of has 8 demonstration items: k=4 shows 4 of them.
    assert metrics["acc/capital-of/k=4"] == 1.0
    counts = set(model.demo_counts)
    assert counts <= {0, 1, 4}, counts


def test_progress_reaches_the_total_through_the_context(corpus, tokenizer):
    calls: list[tuple[int, int]] = []
    model = DemoReader(tokenizer, corpus.extras["world"])
    run_eval(model, tokenizer, corpus, progress=lambda d, t: calls.append((d, t)), shots=[0, 1])
    assert calls, "the evaluation never reported progress"
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert calls[-1][0] == calls[-1][1] > 0


def test_metric_keys_and_samples(corpus, tokenizer, registry):
    model = DemoReader(tokenizer, corpus.extras["world"])
    samples: list = []
    tasks = ["reverse", "antonym"]
    metrics = run_eval(
        model, tokenizer, corpus, samples, tasks=tasks, shots=[0, 2], seeds=2, limit=3
    )
    expected = {"items", "params", "items/reverse", "items/antonym"}
    for k in (0, 2):
        expected |= {f"acc/k={k}", f"acc_std/k={k}", f"truncated/k={k}"}
        for task in tasks:
            expected |= {f"acc/{task}/k={k}", f"acc_std/{task}/k={k}"}
    assert set(metrics) == expected
    assert metrics["items"] == 6.0 and metrics["params"] == 1.0
    assert all(isinstance(v, float) for v in metrics.values())
    # One sample per k: the literal prompt fed and the answer, for the first item.
    assert [s[0] for s in samples] == [0, 2]
    first = corpus.extras["prompt_tasks"]["reverse"][0]
    assert samples[0][1] == "\n\nReverse the letters:\n" + first["input"] + " ->"
    assert samples[0][2] == " ?"
    assert samples[1][2] == " " + first["output"]


def test_offset_selects_one_example(corpus, tokenizer):
    model = DemoReader(tokenizer, corpus.extras["world"])
    samples: list = []
    run_eval(model, tokenizer, corpus, samples, tasks=["sort"], shots=[1], seeds=1, limit=1,
             offset=5, document_separator=False)  # fmt: skip
    item = corpus.extras["prompt_tasks"]["sort"][5]
    assert samples[0][1].endswith("\n" + item["input"] + " ->")
    assert samples[0][2] == " " + item["output"]


def test_real_model_forward_passes_only_with_rank_scoring(corpus, tokenizer, registry):
    model = tiny_gpt(registry, tokenizer.vocab_size, block_size=64)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    metrics = run_eval(
        model, tokenizer, corpus, tasks=["reverse", "capital-of"], shots=[0, 8], seeds=2,
        limit=4, scoring="both", choices=3,
    )  # fmt: skip
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "parameters changed"
    assert {"rank_acc/k=0", "rank_acc_std/k=8", "rank_acc/capital-of/k=8"} <= set(metrics)
    assert 0.0 <= metrics["rank_acc/k=8"] <= 1.0
    # 8 demonstrations do not fit a 64-character context: the prompts were cut, and said so.
    assert metrics["truncated/k=8"] > 0.5 and metrics["truncated/k=0"] == 0.0


def test_greedy_batches_match_one_at_a_time(corpus, tokenizer, registry):
    model = tiny_gpt(registry, tokenizer.vocab_size)
    prompts = ["abc ->", "xyz ->", "Sort the letters:\nabcd ->", "hello ->"]
    together = greedy_answers(model, tokenizer, prompts, max_new_tokens=5, stop="\n")
    for prompt in prompts:
        alone = greedy_answers(model, tokenizer, [prompt], max_new_tokens=5, stop="\n")
        assert alone[prompt] == together[prompt]
    assert all("\n" not in a.text for a in together.values())


def test_logprobs_of_right_padded_rows_match_one_at_a_time(tokenizer, registry):
    model = tiny_gpt(registry, tokenizer.vocab_size)
    pairs = [("abc ->", " cba\n"), ("Sort the letters:\nabcd ->", " abcd\n"), ("x ->", " y\n")]
    together = continuation_logprobs(model, tokenizer, pairs)
    for pair, score in zip(pairs, together, strict=True):
        assert continuation_logprobs(model, tokenizer, [pair])[0] == pytest.approx(score, abs=1e-4)
    # A continuation the model scores is a sum of log-probabilities: below zero.
    assert all(s < 0 for s in together)


# ---------------------------------------------------------------------------------------------
# The fine-tuning dataset
# ---------------------------------------------------------------------------------------------


def test_prompt_task_text_writes_demo_items_in_the_corpus_format(corpus):
    cfg = PromptTaskTextConfig(**SMALL, task="reverse", repeat=2, task_val_items=5, seed=0)
    data = load_prompt_task_text(cfg, DatasetContext(cache_dir=Path("."), seed=123))
    # Same options and seed: the same world and held-out items as the parent corpus.
    assert data.extras["prompt_tasks"] == corpus.extras["prompt_tasks"]
    held = {item["input"] for item in corpus.extras["prompt_tasks"]["reverse"]}
    demos = {(d["input"], d["output"]) for d in corpus.extras["prompt_demos"]["reverse"]}
    fmt = PromptFormat.from_extras(corpus.extras["prompt_format"])
    train_docs = data.train.split("\n\n")
    assert len(train_docs) == 2 * (len(demos) - 5)
    for doc in train_docs + data.val.split("\n\n"):
        instruction, line = doc.split("\n")
        assert instruction == "Reverse the letters:"
        inp, out = line.split(" -> ")
        assert (inp, out) in demos and inp not in held
        # A fine-tuning example is exactly a zero-shot prompt followed by its answer.
        assert doc == fmt.prompt([], inp, instruction) + fmt.expected(out)
    train_inputs = {doc.split("\n")[1].split(" -> ")[0] for doc in train_docs}
    val_inputs = {doc.split("\n")[1].split(" -> ")[0] for doc in data.val.split("\n\n")}
    assert not train_inputs & val_inputs
    plain = load_prompt_task_text(
        PromptTaskTextConfig(**SMALL, task="uppercase", instruction=False, seed=0),
        DatasetContext(cache_dir=Path("."), seed=0),
    )
    assert all(re.fullmatch(r"[a-z]+ -> [A-Z]+", d) for d in plain.train.split("\n\n"))


def test_prompt_task_text_options_validate(registry):
    with pytest.raises(ValueError, match="unknown prompt task"):
        PromptTaskTextConfig(task="nope")
    raw = {
        "name": "ft",
        "stage": {"name": "pretrain", "max_steps": 5},
        "architecture": {"name": "gpt", "preset": "gpt-nano"},
        "tokenizer": {"name": "char"},
        "dataset": {"name": "prompt-task-text", "task": "sort", "size_chars": 20000},
    }
    assert resolve_config(raw, registry).to_dict()["dataset"]["task"] == "sort"
    raw["dataset"]["repeat"] = 0
    with pytest.raises(ConfigError, match="dataset.repeat"):
        resolve_config(raw, registry)


def test_evaluation_runs_on_the_fine_tuning_dataset(tokenizer):
    data = load_prompt_task_text(
        PromptTaskTextConfig(**SMALL, task="first-letter", seed=0),
        DatasetContext(cache_dir=Path("."), seed=0),
    )
    model = DemoReader(tokenizer, data.extras["world"])
    metrics = run_eval(model, tokenizer, data, tasks=["first-letter"], shots=[0, 1], seeds=1)
    assert metrics["acc/k=1"] > metrics["acc/k=0"]
