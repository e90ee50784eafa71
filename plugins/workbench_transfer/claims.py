"""The claim of transfer learning's history, checked against stored ``finetune`` runs.

``transfer-ladder``: on the same labelled task with the same (few) labels, each way transfers
more of a pre-trained model and does better: word vectors into a task model
(``word-vector-lstm``) < a pre-trained contextual RNN (``lstm-lm``) < a pre-trained Transformer
fine-tuned whole (``gpt``). The chart shows each way's best pre-trained run beside its best run
from scratch.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from workbench.charts.claims import grouped_bars
from workbench.claims.pick import fmt, option, task_accuracy
from workbench.specs import ClaimContext, ClaimResult, ClaimSpec

WAYS = {
    "word-vector-lstm": "1. word vectors",
    "lstm-lm": "2. contextual RNN",
    "gpt": "3. Transformer",
}
COMMAND = (
    "python benchmarks/transfer_cpu.py  (or, by hand: configs/transfer-word2vec.yaml → "
    "transfer-word-vectors-finetune.yaml, transfer-lstm-pretrain.yaml → "
    "transfer-lstm-finetune.yaml, with --set dataset.train_limit=100)"
)


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


def transfer_ladder(ctx: ClaimContext) -> ClaimResult:
    # (task, labels) -> way -> {"pre-trained"/"from scratch": (accuracy, run id)}
    table: dict[tuple[str, float], dict[str, dict[str, tuple[float, int]]]] = {}
    for run in ctx.runs:
        way = WAYS.get(run.architecture)
        if run.stage != "finetune" or way is None:
            continue
        measured = task_accuracy(ctx, run)
        if measured is None:
            continue
        limit = option(run, "dataset.train_limit")
        key = (str(option(run, "dataset.task", run.dataset)),
               float("inf") if limit is None else float(limit))  # fmt: skip
        side = "pre-trained" if run.parent_id is not None else "from scratch"
        cell = table.setdefault(key, {}).setdefault(way, {})
        if side not in cell or measured.value > cell[side][0]:
            cell[side] = (measured.value, run.id)
    if not table:
        return ClaimResult(
            "not yet measured", "no fine-tuned run of any of the three ways", None, COMMAND
        )

    def complete(ways: dict[str, dict[str, tuple[float, int]]]) -> bool:
        return all("pre-trained" in ways.get(w, {}) for w in WAYS.values())

    full = sorted(key for key, ways in table.items() if complete(ways))
    chosen = (full or sorted(table, key=lambda k: (-len(table[k]), k[1])))[0]
    task, labels = chosen
    ways = table[chosen]
    where = f"{task}, {'all' if labels == float('inf') else int(labels)} labels"
    groups = {
        way: {side: value for side, (value, _) in ways[way].items()}
        for way in WAYS.values()
        if way in ways
    }
    figure = grouped_bars(groups, title=f"Three ways to transfer ({where})", yaxis="accuracy")
    runs = tuple(run_id for cells in ways.values() for _, run_id in cells.values())
    shown = ", ".join(
        f"{way} {fmt(ways[way]['pre-trained'][0])}"
        for way in WAYS.values()
        if "pre-trained" in ways.get(way, {})
    )
    if not full:
        missing = [w for w in WAYS.values() if "pre-trained" not in ways.get(w, {})]
        return ClaimResult(
            "not yet measured",
            f"{where}: {shown or 'nothing pre-trained'}; not yet measured: {', '.join(missing)}",
            figure,
            COMMAND,
            runs,
        )
    scores = [ways[way]["pre-trained"][0] for way in WAYS.values()]
    holds = all(a < b for a, b in zip(scores, scores[1:], strict=False))
    return ClaimResult("holds" if holds else "does not hold", f"{where}: {shown}", figure,
                       COMMAND, runs)  # fmt: skip


TRANSFER_CLAIM = ClaimSpec(
    name="transfer-ladder",
    summary="Transferring more of a pre-trained model does better on a labelled task: word "
    "vectors, then contextual RNN states, then a whole Transformer fine-tuned.",
    config=NoOptions,
    factory=transfer_ladder,
    paper="Transfer learning in NLP (word2vec → ELMo/ULMFiT → GPT)",
    order=40,
)

CLAIMS = (TRANSFER_CLAIM,)
