"""The ``lm-eval`` evaluation: lm-evaluation-harness on a run's Hugging Face export agrees with the
workbench's own ``few-shot`` evaluation on the same items and prompts, at k=0 and k=1 — the
accuracies and every single answer. Also: the shipped task folder runs and is up to date.
Needs the ``hf`` extra (transformers, safetensors, lm-eval)."""

from __future__ import annotations

import filecmp
import json

import pytest

pytest.importorskip("transformers")
pytest.importorskip("lm_eval")

import yaml  # noqa: E402

from workbench.cli import main  # noqa: E402
from workbench.paths import resolve_home  # noqa: E402
from workbench.registry import load_registry  # noqa: E402
from workbench.runner.build import build_dataset, load_run  # noqa: E402
from workbench.store import open_store  # noqa: E402
from workbench_hf.lm_eval_evaluation import LmEvalConfig, _export, _run_lm_eval  # noqa: E402
from workbench_hf.lm_eval_tasks import (  # noqa: E402
    SHIPPED_TASKS,
    answer_budget,
    build_shipped,
    prompt_documents,
    write_task_folder,
)
from workbench_prompting.scoring import greedy_answers  # noqa: E402

LIMIT = 3
RUN = {
    "name": "icl",
    "seed": 3,
    "stage": {"name": "pretrain", "max_steps": 200, "batch_size": 16, "lr": 3e-3,
              "warmup_steps": 10, "eval_interval": 100, "eval_batches": 2, "sample_tokens": 10},
    "architecture": {"name": "gpt", "preset": "gpt-nano", "block_size": 128},
    "tokenizer": {"name": "char"},
    "dataset": {"name": "synthetic", "size_chars": 20_000, "seed": 3},
    "trainer": {"accelerator": "cpu", "devices": 1, "log_every_n_steps": 20},
}  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny char GPT pre-trained on the synthetic corpus; yields ``(home, root)``."""
    root = tmp_path_factory.mktemp("lm-eval")
    home = root / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        mp.setenv("OMP_NUM_THREADS", "1")
        mp.delenv("WORKBENCH_PLUGINS", raising=False)
        mp.delenv("WORKBENCH_DISABLE_PLUGINS", raising=False)
        path = root / "icl.yaml"
        path.write_text(yaml.safe_dump(RUN))
        assert main(["run", str(path)]) == 0
        yield home, root


def test_lm_eval_accuracy_equals_few_shot_at_k0_and_k1(trained, capsys):
    home, _ = trained
    common = ["--set", f"limit={LIMIT}", "--set", "shots=[0, 1]", "--json"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        assert main(["evaluate", "icl", "few-shot", *common, "--set", "seeds=1"]) == 0
        few_shot = json.loads(capsys.readouterr().out)["metrics"]
        assert main(["evaluate", "icl", "lm-eval", *common]) == 0
        lm_eval = json.loads(capsys.readouterr().out)["metrics"]
    compared = sorted(key for key in lm_eval if key.startswith("acc/"))
    assert "acc/k=0" in compared and "acc/k=1" in compared and len(compared) == 2 * 13
    print()
    for key in ("acc/k=0", "acc/k=1"):
        print(f"{key}: few-shot {few_shot[key]:.4f}  lm-eval {lm_eval[key]:.4f}")
    assert {key: lm_eval[key] for key in compared} == {key: few_shot[key] for key in compared}
    # One lm-eval task per k holds every prompt task's items: its micro mean is lm-eval's own.
    assert 0.0 <= lm_eval["lm_eval/workbench_prompts_k1/exact_match"] <= 1.0
    store = open_store(resolve_home(home))
    stored = store.evaluations(store.find_run("icl").id)
    assert [e.name for e in stored][-1] == "lm-eval"


def test_every_answer_is_the_same_in_lm_eval_and_the_workbench(trained, tmp_path):
    """Item by item: lm-eval's greedy answer to each prompt (through the export) equals the
    workbench model's own, so the equal accuracies are no coincidence."""
    home, _ = trained
    paths = resolve_home(home)
    store = open_store(paths)
    run = store.find_run("icl")
    registry = load_registry()
    loaded = load_run(run.config, paths.run_dir(run.id), registry)
    dataset = build_dataset(loaded.resolved, registry, paths)
    documents, fmt = prompt_documents(dataset, shots=[0, 1], limit=1)
    budget = answer_budget(loaded.tokenizer.encode, documents, fmt)
    names = write_task_folder(tmp_path / "tasks", documents, stop=fmt.stop, max_gen_toks=budget)
    ours = greedy_answers(
        loaded.model,
        loaded.tokenizer,
        [doc["prompt"] for docs in documents.values() for doc in docs],
        max_new_tokens=budget,
        stop=fmt.stop,
    )

    class Ctx:  # the parts of an EvaluationContext the export reads
        model, tokenizer, run_config, run = (
            loaded.model,
            loaded.tokenizer,
            loaded.resolved.to_dict(),
            None,
        )

    (tmp_path / "model").mkdir()
    _export(Ctx, tmp_path / "model")  # type: ignore[arg-type]
    results = _run_lm_eval(tmp_path / "model", names, tmp_path / "tasks", LmEvalConfig(), None)
    answered = 0
    for name in names:
        for sample in results["samples"][name]:
            theirs = sample["filtered_resps"][0]
            if isinstance(theirs, list):
                theirs = theirs[0]
            assert theirs == ours[sample["doc"]["prompt"]].text
            answered += 1
    assert answered == sum(len(d) for d in documents.values()) == 1 * 12 * 2


def test_the_shipped_task_runs_and_is_up_to_date(trained, tmp_path, capsys):
    home, _ = trained
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        options = ["--set", "tasks=[workbench_prompts_k0]", "--set", "limit=3", "--json"]
        assert main(["evaluate", "icl", "lm-eval", *options]) == 0
        metrics = json.loads(capsys.readouterr().out)["metrics"]
        assert set(metrics) == {"lm_eval/workbench_prompts_k0/exact_match"}
        bad = ["--set", "tasks=[no_such_task]"]
        assert main(["evaluate", "icl", "lm-eval", *bad]) == 2
        assert "lm-eval task(s) ['no_such_task'] not found" in capsys.readouterr().err
    build_shipped(tmp_path / "fresh")
    shipped = sorted(p.name for p in SHIPPED_TASKS.iterdir() if p.is_file())
    assert shipped == sorted(p.name for p in (tmp_path / "fresh").iterdir())
    _, mismatch, errors = filecmp.cmpfiles(
        SHIPPED_TASKS, tmp_path / "fresh", shipped, shallow=False
    )
    assert not mismatch and not errors, "run: python -m workbench_hf.lm_eval_tasks"
