"""Dashboard handlers called directly: forms, validation, launching, runs, compare, playground.

One real tiny run is trained (in a worker process, as the UI does) and shared by the tests that
need a saved model; the others use run rows recorded without training.
"""

from __future__ import annotations

import csv
import enum
import shutil
from types import SimpleNamespace
from typing import Literal

import pytest
import torch
import yaml
from pydantic import BaseModel, ConfigDict, Field
from ui_support import (
    fake_finetune_run,
    fake_finished_run,
    tiny_config,
    tiny_seq2seq_config,
    ui_home,
    wait_finished,
)

from workbench import hookimpl
from workbench.charts.attention import ATTENTION_KINDS
from workbench.charts.heatmaps import attention_heatmap
from workbench.config import ConfigError, resolve_config
from workbench.config_warnings import ConfigWarning
from workbench.protocols import CAUSAL_LM
from workbench.registry import load_registry
from workbench.runner import phase
from workbench.specs import ArchitectureSpec, StageSpec
from workbench.starters import starters
from workbench.ui import (
    attention_section,
    compare_tab,
    evaluate_section,
    new_run_tab,
    pickers,
    playground_tab,
    runs_tab,
)
from workbench.ui.comparison import hyperparameters
from workbench.ui.context import UIContext
from workbench.ui.form_widgets import WARNING_MARK, widget_info
from workbench.ui.forms import NONE_CHOICE, FormLayout, describe_model
from workbench.ui.generation import (
    SamplingParams,
    TurnTemplate,
    attention_snapshot,
    history_pairs,
)
from workbench.ui.plugins_tab import failure_text, plugin_rows
from workbench.ui.safety import UploadError, check_upload, confine_paths, keep_upload
from workbench_gpt.pretrain import PretrainConfig


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A UI context whose home holds one finished tiny bigram run, launched from YAML."""
    with ui_home(tmp_path_factory.mktemp("ui-handlers")) as ctx:
        run_id, checked = new_run_tab.launch_yaml(ctx, yaml.safe_dump(tiny_config("trained")))
        assert run_id is not None, checked.message()
        assert wait_finished(ctx, run_id) == "succeeded", ctx.store.get_run(run_id).error
        yield ctx, run_id


@pytest.fixture(scope="module")
def seq2seq_trained(tmp_path_factory):
    """A UI context whose home holds one finished tiny Transformer run on the copy task."""
    with (
        pytest.MonkeyPatch.context() as mp,
        ui_home(tmp_path_factory.mktemp("ui-seq2seq")) as ctx,
    ):
        # One torch thread in the worker: on a busy 2-core machine two threads stall each other.
        mp.setenv("OMP_NUM_THREADS", "1")
        run_id, checked = new_run_tab.launch_yaml(ctx, yaml.safe_dump(tiny_seq2seq_config()))
        assert run_id is not None, checked.message()
        assert wait_finished(ctx, run_id) == "succeeded", ctx.store.get_run(run_id).error
        yield ctx, run_id


@pytest.fixture
def ctx(tmp_path):
    with ui_home(tmp_path) as context:
        yield context


# ---------------------------------------------------------------------------------------------
# Forms from Config models
# ---------------------------------------------------------------------------------------------


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    depth: int = Field(2, ge=1, le=9, description="how deep")


class TomorrowConfig(BaseModel):
    """Options of a plugin written after the UI was."""

    model_config = ConfigDict(extra="forbid")
    width: int = Field(8, ge=2, description="how wide")
    rate: float = Field(0.5, gt=0, lt=1)
    colour: Colour = Colour.RED
    mode: Literal["fast", "slow"] = "fast"
    tidy: bool = True
    label: str | None = None
    tags: list[str] = Field(default_factory=lambda: ["a"])
    inner: Inner = Field(default_factory=Inner)


class TomorrowPlugin:
    __version__ = "9.9"

    @hookimpl
    def register_architectures(self, register):
        register(
            ArchitectureSpec(
                name="tomorrow-net",
                summary="installed tomorrow",
                config=TomorrowConfig,
                factory=lambda config, ctx: None,
                protocols=("tomorrow-protocol",),
            )
        )

    @hookimpl
    def register_stages(self, register):
        register(
            StageSpec(
                name="tomorrow-stage",
                summary="needs tomorrow-protocol",
                config=PretrainConfig,
                factory=lambda ctx: None,
                requires="tomorrow-protocol",
            )
        )


def test_form_fields_come_from_the_config_model():
    fields = {f.label: f for f in describe_model(TomorrowConfig)}
    assert fields["width"].kind == "int" and "≥ 2" in fields["width"].info
    assert "how wide" in fields["width"].info and "default 8" in fields["width"].info
    assert fields["rate"].kind == "float" and "> 0" in fields["rate"].info
    assert fields["colour"].kind == "choice" and fields["colour"].choices == ("red", "blue")
    assert fields["mode"].choices == ("fast", "slow")
    assert fields["tidy"].kind == "bool"
    assert fields["label"].kind == "text" and fields["label"].optional
    assert fields["tags"].kind == "yaml" and fields["tags"].default == ["a"]
    inner = fields["inner"]
    assert inner.kind == "group" and inner.children[0].path == ("inner", "depth")
    assert "≤ 9" in inner.children[0].info


def test_a_plugin_installed_tomorrow_gets_a_form_and_compatible_choices(ctx):
    registry = load_registry(plugins=[("tomorrow", TomorrowPlugin())])
    layout = FormLayout.from_registry(registry)
    assert "tomorrow-net" in layout.plugins["architecture"]
    assert layout.choices("architecture", "tomorrow-stage") == ["tomorrow-net"]
    assert "tomorrow-net" not in layout.choices("architecture", "pretrain")
    assert {"bigram", "gpt"} <= set(layout.choices("architecture", "pretrain"))
    raw = {
        "name": "t",
        "stage": {"name": "tomorrow-stage"},
        "architecture": {"name": "tomorrow-net", "inner": {"depth": 4}, "colour": "blue"},
    }
    values = layout.widget_values(raw)
    back, problems = layout.raw_config(values)
    assert problems == []
    assert back["architecture"] == {"name": "tomorrow-net", "colour": "blue", "inner": {"depth": 4}}
    # The app builds with the new plugin's form in it.
    from workbench.ui.app import build_app

    app = build_app(UIContext(paths=ctx.paths, store=ctx.store, registry=registry))
    ids = {getattr(block, "elem_id", None) for block in app.blocks.values()}
    assert "wb-architecture-tomorrow-net-inner-depth" in ids


def test_form_round_trip_keeps_only_what_differs_from_defaults_and_presets(ctx):
    layout = FormLayout.from_registry(ctx.registry)
    raw = {
        "name": "nano",
        "stage": {"name": "pretrain", "max_steps": 30},
        "architecture": {"name": "gpt", "preset": "gpt-nano", "n_layer": 3},
        "tokenizer": {"name": "char"},
        "dataset": {"name": "synthetic", "size_chars": 5000},
    }
    back, problems = layout.raw_config(layout.widget_values(raw))
    assert problems == []
    assert back == {"seed": 1337, **raw}
    # The stored resolved config (every value explicit) comes back as the same short config.
    resolved = resolve_config(raw, ctx.registry).to_dict()
    again, _ = layout.raw_config(layout.widget_values(resolved))
    assert again["architecture"] == raw["architecture"]
    assert again["stage"] == raw["stage"]


def test_validation_shows_the_cli_error_text_and_marks_the_field(ctx):
    layout = FormLayout.from_registry(ctx.registry)
    raw = tiny_config("bad", lr=-1)
    values = layout.widget_values(raw)
    checked = new_run_tab.check_form(ctx, layout, values)
    assert not checked.ok
    cli_text = str(_cli_error(ctx, raw))
    assert "stage.lr: Input should be greater than 0 (got -1" in cli_text
    assert cli_text in checked.message()
    marks = new_run_tab.field_errors(layout, values, checked.error)
    slot = layout.slots()[next(iter(marks))]
    assert (slot.block, slot.plugin, slot.field.label) == ("stage", "pretrain", "lr")
    run_id, _ = new_run_tab.launch_form(ctx, layout, values)
    assert run_id is None and ctx.store.list_runs() == []


def _cli_error(ctx: UIContext, raw: dict) -> ConfigError:
    confined, _ = confine_paths(raw, ctx.paths.home, ctx.data_roots)
    with pytest.raises(ConfigError) as info:
        resolve_config(confined, ctx.registry)
    return info.value


def test_unreadable_yaml_field_and_empty_name_are_reported(ctx):
    layout = FormLayout.from_registry(ctx.registry)
    values = layout.widget_values(tiny_config(""))
    slots = layout.slots()
    devices = next(i for i, s in enumerate(slots) if s.key == "trainer-devices")
    values[devices] = "[1, 2"
    checked = new_run_tab.check_form(ctx, layout, values)
    text = str(checked.error)
    assert "trainer.devices: cannot read this as YAML" in text
    assert "name: String should have at least 1 character" in text


def test_paths_outside_the_data_folders_are_refused(ctx, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("x" * 100)
    raw = tiny_config()
    raw["dataset"]["path"] = str(outside)
    checked = new_run_tab.check_config(ctx, raw)
    assert "dataset.path:" in str(checked.error) and "outside the workbench's data" in str(
        checked.error
    )
    raw["dataset"]["path"] = "../../secret.txt"
    assert not new_run_tab.check_config(ctx, raw).ok
    raw["dataset"]["path"] = "workbench.db"
    assert not new_run_tab.check_config(ctx, raw).ok, "the database is not a data folder"
    url = {"name": "url", "url": f"file://{outside}", "sha256": "0" * 64}
    assert not new_run_tab.check_config(ctx, {**tiny_config(), "dataset": url}).ok
    ok = new_run_tab.check_config(ctx, tiny_config())
    assert ok.ok, ok.message()
    assert ok.raw["dataset"]["path"] == str(ctx.paths.home / "data" / "corpus.txt")


def test_uploads_are_checked_and_kept_in_the_home(ctx, tmp_path):
    good = tmp_path / "notes.txt"
    good.write_text("hello world\n")
    kept = keep_upload(good, ctx.uploads)
    assert kept.parent == ctx.uploads and kept.read_text() == "hello world\n"
    assert new_run_tab.data_upload_target(ctx, good).startswith("uploads/")
    script = tmp_path / "evil.py"
    script.write_text("print(1)")
    with pytest.raises(UploadError, match="only"):
        check_upload(script)
    binary = tmp_path / "blob.txt"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(UploadError, match="not UTF-8"):
        check_upload(binary)
    big = tmp_path / "big.jsonl"
    with big.open("wb") as handle:
        handle.truncate(21 * 1024 * 1024)
    with pytest.raises(UploadError, match="limit"):
        check_upload(big)
    config = tmp_path / "run.yaml"
    config.write_text(yaml.safe_dump(tiny_config("uploaded")))
    assert new_run_tab.read_config_upload(config)["name"] == "uploaded"


# ---------------------------------------------------------------------------------------------
# Runs tab
# ---------------------------------------------------------------------------------------------


def test_runs_table_filters_and_lineage_and_delete_rules(ctx):
    parent = fake_finished_run(ctx, "alpha")
    child = fake_finished_run(ctx, "beta")
    ctx.store.create_run(
        name="gamma",
        stage="pretrain",
        architecture="gpt",
        dataset="text-file",
        tokenizer="char",
        config=tiny_config("gamma"),
        seed=0,
        plugin_versions={},
        package_versions={},
        parent_id=parent,
        status="failed",
    )
    rows = runs_tab.runs_table(ctx)
    assert [r[1] for r in rows] == ["gamma", "beta", "alpha"]
    assert rows[1][5] == "20/30 (66%)" and "train/loss" in rows[1][6] and "lr" not in rows[1][6]
    assert [r[1] for r in runs_tab.runs_table(ctx, status="failed")] == ["gamma"]
    assert [r[1] for r in runs_tab.runs_table(ctx, text="ALP")] == ["alpha"]
    assert runs_tab.runs_table(ctx, stage="nope") == []
    assert rows[0][7] == f"{parent} · alpha" and rows[1][7] == ""

    page = runs_tab.run_page(ctx, parent)
    assert page.lineage == [["child", 3, "gamma", "pretrain", "failed"]]
    assert {t.name for t in page.loss.data} == {"train/loss", "val/loss"}
    assert "name: alpha" in page.config_yaml and page.can_delete and not page.can_cancel

    text, allowed = runs_tab.delete_question(ctx, parent)
    assert not allowed and "child run(s) 3" in text
    assert "child run(s) 3" in runs_tab.delete_run(ctx, parent)
    assert ctx.store.get_run(parent)
    assert runs_tab.delete_run(ctx, child) == f"Run {child} deleted."
    assert [r.name for r in ctx.store.list_runs()] == ["gamma", "alpha"]
    assert runs_tab.parent_label(parent, {}) == f"{parent} (deleted)"
    clone = runs_tab.clone_config(ctx, parent)
    assert clone["name"] == "alpha-copy" and clone["stage"]["lr"] == 0.01


def test_failed_run_page_shows_the_traceback(ctx):
    run_id = fake_finished_run(ctx, "broken")
    ctx.store.set_status(run_id, "failed", error="Traceback (most recent call last):\nBoom")
    page = runs_tab.run_page(ctx, run_id)
    assert page.traceback.endswith("Boom") and page.can_delete
    assert "resumed" not in runs_tab.resume_run(ctx, run_id)
    assert "no checkpoint" in runs_tab.resume_run(ctx, run_id)
    assert "only queued or running" in runs_tab.cancel_run(ctx, run_id)


def test_ppo_run_page_draws_the_overoptimisation_curve(ctx):
    """A run that logged curve/* metrics gets Gao et al.'s picture: gold and proxy reward against
    sqrt(KL), with the points where the sentinel warned marked; a run without them gets none."""
    plain = fake_finished_run(ctx, "plain")
    assert runs_tab.run_page(ctx, plain).overoptimisation is None
    run_id = fake_finished_run(ctx, "ppo-like")
    points = [  # step, KL, proxy, gold, sentinel warning
        (0, 0.0, -3.5, 0.58, 0.0),
        (20, 4.0, -1.0, 0.67, 0.0),
        (40, 9.0, 0.8, 0.48, 0.0),
        (60, 16.0, 1.2, 0.40, 1.0),
    ]
    rows = []
    for step, kl, proxy, gold, warned in points:
        for name, value in (
            ("curve/kl", kl),
            ("curve/sqrt_kl", kl**0.5),
            ("curve/proxy", proxy),
            ("curve/gold", gold),
            ("curve/rollouts", step / 4),
            ("sentinel/warning", warned),
        ):
            rows.append((step, name, value, 2000.0 + step))
    ctx.store.add_metrics(run_id, rows)
    fig = runs_tab.run_page(ctx, run_id).overoptimisation
    assert fig is not None
    traces = {t.name: t for t in fig.data}
    proxy = traces["proxy reward (reward model)"]
    gold = traces["gold reward (labeller's rule)"]
    assert list(proxy.x) == [0.0, 2.0, 3.0, 4.0] == list(gold.x)
    assert list(proxy.y) == [-3.5, -1.0, 0.8, 1.2] and list(gold.y) == [0.58, 0.67, 0.48, 0.40]
    assert proxy.yaxis == "y" and gold.yaxis == "y2"  # each on its own scale
    warning = traces["sentinel warning"]
    assert list(warning.x) == [4.0] and list(warning.y) == [1.2]
    assert "rollout 15" in gold.text[-1] and "KL 16.00" in gold.text[-1]
    assert "KL" in fig.layout.xaxis.title.text


def test_real_run_page_has_curves_samples_and_artifacts(trained):
    ctx, run_id = trained
    page = runs_tab.run_page(ctx, run_id)
    assert "succeeded" in page.header and "30/30" in page.header
    assert {t.name for t in page.loss.data} == {"train/loss", "val/loss"}
    assert page.samples.count("**step") == 3
    assert {row[0] for row in page.artifacts} >= {"model", "tokenizer", "checkpoint"}
    assert page.can_resume is False  # a succeeded run is not resumable
    assert runs_tab.page_fingerprint(ctx, run_id)[1] == "succeeded"


def test_seq2seq_run_page_draws_every_layer_and_head_of_each_attention_kind(seq2seq_trained):
    ctx, run_id = seq2seq_trained
    state = runs_tab.run_page(ctx, run_id).attention
    assert state.visible and state.ready
    arch = resolve_config(ctx.store.get_run(run_id).config, ctx.registry).options["architecture"]
    layers = {
        "encoder_self": arch.encoder_layers,
        "decoder_self": arch.decoder_layers,
        "cross": arch.decoder_layers,
    }
    view = attention_section.attention_view(ctx, run_id, "val", 3)
    assert view.ok, view.message
    assert list(view.figures) == list(ATTENTION_KINDS)
    for kind, figure in view.figures.items():
        assert len(figure.data) == layers[kind] * arch.n_head, kind
        assert {trace.type for trace in figure.data} == {"heatmap"}
    assert len(view.source) in range(3, 6) and view.reference == view.source  # the copy task
    assert "val example 3" in view.message
    message, source, reference, output, *plots = view.values()
    assert (source, reference, output) == (view.source, view.reference, view.output)
    assert plots == [view.figures[kind] for kind in ATTENTION_KINDS]
    # the figures' decoder rows are the tokens the model produced, then <eos>
    cross = view.figures["cross"]
    assert len(cross.layout.yaxis.ticktext) == len(view.output) + 1


def test_attention_section_refuses_bad_input_with_a_message(seq2seq_trained):
    ctx, run_id = seq2seq_trained
    bad = attention_section.attention_view(ctx, run_id, "val", 99)
    assert not bad.ok and "example 99 is outside the val split (0..15)" in bad.message
    assert bad.values() == [bad.message, "", "", "", None, None, None]
    assert "whole number" in attention_section.attention_view(ctx, run_id, "val", 1.5).message
    assert "Enter the index" in attention_section.attention_view(ctx, run_id, "val", None).message
    assert "Unknown split" in attention_section.attention_view(ctx, run_id, "dev", 0).message
    assert attention_section.attention_view(ctx, None, "val", 0).message == "Choose a run first."

    config = tiny_seq2seq_config("still-training")
    running = ctx.store.create_run(
        name="still-training",
        stage="seq2seq",
        architecture="transformer",
        dataset="copy",
        tokenizer="char",
        config=config,
        seed=0,
        plugin_versions={},
        package_versions={},
        status="running",
    )
    state = runs_tab.run_page(ctx, running).attention
    assert state.visible and not state.ready and "once it has finished" in state.note
    view = attention_section.attention_view(ctx, running, "val", 0)
    assert not view.ok and "is running" in view.message and "once it has finished" in view.message

    lm = fake_finished_run(ctx, "a-language-model")
    assert runs_tab.run_page(ctx, lm).attention.visible is False
    view = attention_section.attention_view(ctx, lm, "val", 0)
    assert not view.ok and "apply to seq2seq runs" in view.message and "'bigram'" in view.message


# ---------------------------------------------------------------------------------------------
# Compare tab
# ---------------------------------------------------------------------------------------------


def test_compare_overlays_diffs_and_exports(ctx):
    a = fake_finished_run(ctx, "small-lr", lr=1e-3)
    b = fake_finished_run(ctx, "big-lr", lr=1e-2)
    result = compare_tab.compare(ctx, [str(a), str(b)], None, "tokens")
    assert result.metric == "val/loss"
    assert "tokens" not in result.metric_choices and "train/loss" in result.metric_choices
    assert [t.name for t in result.curves.data] == [f"{a} · small-lr", f"{b} · big-lr"]
    assert list(result.curves.data[0].x) == [640.0, 1280.0]
    keys = [row[0] for row in result.diff_rows]
    assert keys == ["name", "stage.lr"]
    dims = [d.label for d in result.parallel.data[0].dimensions]
    assert dims == ["stage.lr", "final val/loss"]
    by_time = compare_tab.compare(ctx, [str(a), str(b)], "train/loss", "time")
    assert list(by_time.curves.data[0].x)[:2] == [0.0, 1.0]
    path = compare_tab.export_csv(ctx, [str(a), str(b)])
    assert not path.is_relative_to(ctx.paths.home)
    rows = list(csv.reader(path.open()))
    assert rows[0][:5] == ["id", "name", "status", "stage", "architecture"]
    assert "stage.lr" in rows[0] and "final val/loss" in rows[0]
    assert rows[1][rows[0].index("stage.lr")] == "0.001"
    assert len(rows) == 3


def test_learning_curve_draws_pretrained_and_scratch_against_labels(ctx):
    runs = []
    for records, pre, scratch in ((25, 0.70, 0.52), (100, 0.90, 0.60), (2000, 0.99, 0.98)):
        for seed, wobble in ((0, 0.0), (1, 0.02)):
            runs.append(
                fake_finetune_run(
                    ctx,
                    f"pre-{records}-{seed}",
                    records=records,
                    seed=seed,
                    val_accuracy=pre + wobble,
                    init_from="lm-pretrain",
                )
            )
            runs.append(fake_finetune_run(ctx, f"scratch-{records}-{seed}", records=records,
                                          seed=seed, val_accuracy=scratch + wobble))  # fmt: skip
    pretrain = fake_finished_run(ctx, "not-a-finetune")
    curve = compare_tab.learning_curve(ctx, [str(r) for r in [*runs, pretrain]])
    assert set(curve.lines) == {"pre-trained (lm-pretrain)", "from scratch"}
    assert curve.y_title.startswith("validation accuracy")
    pre = curve.lines["pre-trained (lm-pretrain)"]
    assert [point[0] for point in pre] == [25.0, 100.0, 2000.0]
    assert pre[1][1] == pytest.approx(0.91) and pre[1][3] == 2  # mean of the two seeds
    assert pre[1][2] == pytest.approx(0.0141, abs=1e-3)  # their standard deviation
    assert f"{pretrain}" in curve.notes and "train/records" in curve.notes
    names = [trace.name for trace in curve.figure.data]
    assert names == ["pre-trained (lm-pretrain)", "from scratch"]
    assert curve.figure.layout.xaxis.type == "log"
    assert list(curve.figure.data[1].x) == [25.0, 100.0, 2000.0]

    # Test accuracy (task-accuracy on the test split) is used once every run has one.
    a = fake_finetune_run(ctx, "t-a", records=100, val_accuracy=0.5, test_accuracy=0.61,
                          init_from="lm-pretrain")  # fmt: skip
    b = fake_finetune_run(ctx, "t-b", records=100, val_accuracy=0.5, test_accuracy=0.55)
    tested = compare_tab.learning_curve(ctx, [str(a), str(b)])
    assert tested.y_title.startswith("test accuracy")
    assert tested.lines["pre-trained (lm-pretrain)"] == [(100.0, 0.61, 0.0, 1)]
    assert tested.notes == ""
    assert compare_tab.learning_curve(ctx, []).lines == {}


# ---------------------------------------------------------------------------------------------
# Playground tab
# ---------------------------------------------------------------------------------------------


def test_playground_streams_and_compares_side_by_side(trained):
    ctx, run_id = trained
    assert [value for _, value in pickers.playable_choices(ctx)] == [str(run_id)]
    params = SamplingParams(max_new_tokens=20, temperature=0.8, top_k=5, seed=3)
    steps = list(playground_tab.generate(ctx, str(run_id), None, "the ", params))
    assert len(steps) >= 3, "streamed in chunks"
    assert [len(a) for a, _ in steps] == sorted(len(a) for a, _ in steps)
    assert len(steps[-1][0]) == 20 and steps[-1][1] == ""
    both = list(playground_tab.generate(ctx, str(run_id), str(run_id), "the ", params))[-1]
    assert both[0] == both[1] == steps[-1][0], "same seed, same run: same text"
    greedy = SamplingParams(max_new_tokens=10, temperature=0)
    one = list(playground_tab.generate(ctx, str(run_id), None, "the ", greedy))[-1][0]
    assert one == list(playground_tab.generate(ctx, str(run_id), None, "the ", greedy))[-1][0]
    assert playground_tab.attention_of(ctx, str(run_id), "the cat") is None  # bigram: none
    with pytest.raises(ValueError, match="no saved model|choose"):
        list(playground_tab.generate(ctx, None, None, "x", params))


def test_sampling_inputs_are_read_like_the_cli():
    params = SamplingParams.from_inputs(50, 0.7, 0, 1.0, None)
    assert params == SamplingParams(max_new_tokens=50, temperature=0.7)
    assert SamplingParams.from_inputs(5, 1, 10, 0.9, 7).top_k == 10
    with pytest.raises(ValueError, match="temperature"):
        SamplingParams.from_inputs(5, -1, 0, 1, None)


class TemplatedConfig(PretrainConfig):
    turn_template: str = "User: {prompt}\nBot: {response}\n"


class TemplatedStagePlugin:
    """A test-only stage: pretrain options plus the turn template a chat run records."""

    @hookimpl
    def register_stages(self, register):
        register(
            StageSpec(
                name="templated-pretrain",
                summary="pretrain options with a turn template (tests)",
                config=TemplatedConfig,
                factory=lambda ctx: None,
                requires=CAUSAL_LM,
                dataset_kinds=("text",),
            )
        )


def test_chat_uses_the_runs_turn_template(trained):
    ctx, trained_id = trained
    registry = load_registry(plugins=[("templated", TemplatedStagePlugin())])
    chat_ctx = UIContext(paths=ctx.paths, store=ctx.store, registry=registry)
    source = ctx.store.get_run(trained_id)
    config = dict(source.config)
    # Only characters of the training corpus: the char tokenizer knows no others.
    config["stage"] = {**config["stage"], "name": "templated-pretrain",
                       "turn_template": "cat {prompt}\ndog {response}\n"}  # fmt: skip
    run_id = ctx.store.create_run(
        name="chatty",
        stage="templated-pretrain",
        architecture="bigram",
        dataset="text-file",
        tokenizer="char",
        config=resolve_config(config, registry).to_dict(),
        seed=0,
        plugin_versions={},
        package_versions={},
        status="succeeded",
    )
    shutil.copytree(ctx.paths.run_dir(trained_id), ctx.paths.run_dir(run_id))
    assert playground_tab.chat_template(chat_ctx, str(run_id)) is not None
    assert playground_tab.chat_template(chat_ctx, str(trained_id)) is None
    assert "needs a run trained with a turn template" in playground_tab.chat_note_text(
        chat_ctx, str(trained_id)
    )
    assert "turn template" in playground_tab.chat_note_text(chat_ctx, str(run_id))
    params = SamplingParams(max_new_tokens=30, temperature=0.9, seed=1)
    history = [
        {"role": "user", "content": "sees 3"},
        {"role": "assistant", "content": "birds."},
    ]
    updates = list(playground_tab.chat_reply(chat_ctx, str(run_id), "sees 4", history, params))
    final = updates[-1]
    assert final[:3] == [*history, {"role": "user", "content": "sees 4"}]
    reply = final[-1]["content"]
    assert final[-1]["role"] == "assistant" and "\ncat " not in reply
    with pytest.raises(ValueError, match="turn template"):
        list(playground_tab.chat_reply(chat_ctx, str(trained_id), "hi", [], params))


def test_turn_template_renders_history_and_stops_at_the_next_turn():
    template = TurnTemplate.parse("User: {prompt}\nBot: {response}\n")
    text = template.render([("hi", "hello")], "how are you?")
    assert text == "User: hi\nBot: hello\nUser: how are you?\nBot: "
    assert template.stops() == ["\nUser: "]
    assert TurnTemplate.parse("<u>{prompt}<b>{response}<end>").stops() == ["<end>", "<end><u>"]
    with pytest.raises(ValueError):
        TurnTemplate.parse("{response} before {prompt}")
    pairs = history_pairs(
        [
            {"role": "user", "content": [{"type": "text", "text": "a"}]},
            {"role": "assistant", "content": "b"},
        ]
    )
    assert pairs == [("a", "b")]


def test_attention_snapshot_of_a_gpt():
    from workbench_gpt.model import GPT, GPTConfig
    from workbench_text.tokenizers import CHAR_SPEC, CharConfig

    tokenizer = CHAR_SPEC.factory(CharConfig())
    tokenizer.fit(["hello world"])
    model = GPT(GPTConfig(n_layer=2, n_head=2, n_embd=16, block_size=8), tokenizer.vocab_size)
    loaded = SimpleNamespace(model=model.eval(), tokenizer=tokenizer)
    shot = attention_snapshot(loaded, "hello world")
    assert shot.layers == 2 and shot.heads == 2
    assert shot.tokens == list("lo world")  # the last block_size tokens
    row = torch.tensor(shot.weights[1][0][3])
    assert torch.isclose(row.sum(), torch.tensor(1.0)) and torch.all(row[4:] == 0)
    fig = playground_tab.attention_figure(shot, 1, 1)
    assert fig.data[0].type == "heatmap" and "layer 1, head 1" in fig.layout.title.text


# ---------------------------------------------------------------------------------------------
# Plugins tab
# ---------------------------------------------------------------------------------------------


def test_plugins_tab_lists_versions_specs_and_failures(ctx):
    registry = load_registry(
        modules=["wb_test_plugins.broken_import"], plugins=[("tomorrow", TomorrowPlugin())]
    )
    view = UIContext(paths=ctx.paths, store=ctx.store, registry=registry)
    rows = plugin_rows(view)
    assert ["tomorrow", "9.9", "architecture", "tomorrow-net", "installed tomorrow"] in [
        r[:5] for r in rows
    ]
    assert any(r[3] == "pretrain" and "causal-lm" in r[5] for r in rows)
    text = failure_text(view)
    assert "wb_test_plugins.broken_import" in text and "broken on purpose" in text


def test_init_from_lists_finished_runs(ctx):
    done = fake_finished_run(ctx, "done")
    choices = new_run_tab.init_from_choices(ctx)
    assert choices[0] == ("(none)", NONE_CHOICE) and choices[1] == (f"{done} · done", str(done))
    layout = FormLayout.from_registry(ctx.registry)
    values = layout.widget_values({**tiny_config("child"), "init_from": done})
    raw, _ = layout.raw_config(values)
    assert raw["init_from"] == done
    assert new_run_tab.check_form(ctx, layout, values).ok


# ---------------------------------------------------------------------------------------------
# What a user tripped over (issue 16): defaults, feedback, warnings, plots, evaluations
# ---------------------------------------------------------------------------------------------


def test_new_run_opens_on_the_quickstart_and_offers_every_shipped_config(ctx):
    offered = [name for _, name in new_run_tab.starter_choices()]
    assert offered[0] == "quickstart"
    assert sorted(offered) == sorted(s.path.stem for s in starters())
    assert "tiny-bigram" in offered and "rlhf-dpo" in offered
    raw = new_run_tab.starter_config()
    assert raw["name"] == "quickstart-synthetic-gpt" and raw["tokenizer"]["name"] == "char"
    # The form shows the quickstart exactly: its round trip resolves to the same run.
    layout = FormLayout.from_registry(ctx.registry)
    values = layout.widget_values(raw)
    assert values[layout.picker_index("stage")] == "pretrain"
    checked = new_run_tab.check_form(ctx, layout, values)
    assert checked.ok and checked.warnings == [], checked.message()
    assert checked.resolved.to_dict() == resolve_config(raw, ctx.registry).to_dict()


def test_validate_warns_beside_each_field_and_still_lets_it_run(ctx):
    layout = FormLayout.from_registry(ctx.registry)
    raw = tiny_config("odd", max_steps=20, warmup_steps=20, eval_interval=50)
    values = layout.widget_values(raw)
    checked = new_run_tab.check_form(ctx, layout, values)
    assert checked.ok, checked.message()
    assert {w.location for w in checked.warnings} == {"stage.warmup_steps", "stage.eval_interval"}
    message = checked.message()
    assert message.startswith("Valid") and "It would run, but" in message
    marks = new_run_tab.field_warnings(layout, values, checked.warnings)
    by_key = {layout.slots()[i].key: text for i, text in marks.items()}
    assert set(by_key) == {"stage-pretrain-warmup_steps", "stage-pretrain-eval_interval"}
    assert "never decays" in by_key["stage-pretrain-warmup_steps"]
    index = next(i for i, s in enumerate(layout.slots()) if s.key == "stage-pretrain-warmup_steps")
    info = widget_info(layout.slots()[index].field, marks[index])
    assert info.startswith(WARNING_MARK) and "linear warm-up" in info
    assert WARNING_MARK not in (widget_info(layout.slots()[index].field) or "")
    unplaced = [ConfigWarning("nowhere.at_all", "x")]
    assert new_run_tab.field_warnings(layout, values, unplaced) == {}


def test_runs_table_shows_losses_first(ctx):
    run_id = fake_finished_run(ctx, "metrics")
    ctx.store.add_metrics(run_id, [(20, "accuracy", 0.5, 1020.0), (20, "bleu", 3.0, 1020.0)])
    (row,) = runs_tab.runs_table(ctx)
    names = [part.split(" ")[0] for part in row[6].split(" · ")]
    assert names == ["train/loss", "val/loss", "accuracy", "bleu"]


def test_a_new_runs_page_shows_its_phase_before_the_first_step(ctx):
    run_id = fake_finished_run(ctx, "starting")
    ctx.store.set_status(run_id, "queued")
    ctx.store.update_run(run_id, step=0)
    assert runs_tab.run_phase(ctx, ctx.store.get_run(run_id)) == phase.STARTING
    phase.set_phase(ctx.paths.run_dir(run_id), phase.DATA)
    page = runs_tab.run_page(ctx, run_id)
    assert "**phase** building the data (0 s)" in page.header
    before = runs_tab.page_fingerprint(ctx, run_id)
    phase.set_phase(ctx.paths.run_dir(run_id), phase.MODEL)
    assert runs_tab.page_fingerprint(ctx, run_id) != before, "the page refreshes on a new phase"
    ctx.store.update_run(run_id, step=3)
    page = runs_tab.run_page(ctx, run_id)
    assert "phase" not in page.header
    assert runs_tab.run_phase(ctx, ctx.store.get_run(run_id)) is None
    ctx.store.set_status(run_id, "running")
    ctx.store.delete_metrics_after(run_id, 0)
    empty = runs_tab.run_page(ctx, run_id).loss.layout.annotations[0].text
    assert empty == "training: the loss is logged every step"  # log_every_n_steps: 1


def test_a_real_run_went_through_the_phases(trained):
    ctx, run_id = trained
    recorded = phase.read_phase(ctx.paths.run_dir(run_id))
    assert recorded is not None and recorded.name == phase.FIRST_STEPS
    assert runs_tab.run_phase(ctx, ctx.store.get_run(run_id)) is None  # it has finished


def test_pickers_follow_the_newest_run_unless_the_user_chose_one():
    assert pickers.refreshed_pick("1", ["2", "1"], chosen_by_user=False) == "2"
    assert pickers.refreshed_pick("1", ["2", "1"], chosen_by_user=True) == "1"
    assert pickers.refreshed_pick("5", ["2", "1"], chosen_by_user=True) == "2"
    assert pickers.refreshed_pick(None, [], chosen_by_user=False) is None


def test_chat_send_is_only_for_runs_with_a_turn_template(trained):
    ctx, run_id = trained
    assert playground_tab.can_chat(ctx, str(run_id)) is False
    assert playground_tab.can_chat(ctx, None) is False


def test_parallel_coordinates_only_over_numeric_settings_that_differ(ctx):
    a = tiny_config("a", lr=1e-3)
    b = tiny_config("b", lr=1e-2, max_steps=40)
    b["tokenizer"] = {"name": "bpe"}
    b["description"] = "other words"
    params = hyperparameters([a, b])
    assert [sorted(p) for p in params] == [["stage.lr", "stage.max_steps"]] * 2
    assert hyperparameters([a]) == [{}]
    one = fake_finished_run(ctx, "one")
    result = compare_tab.compare(ctx, [str(one)], None)
    assert "differ in no numeric setting" in result.parallel.layout.annotations[0].text


def test_attention_heatmap_thins_token_labels_past_sixty():
    short = attention_heatmap([[1.0] * 30] * 30, ["a"] * 30, title="t")
    assert len(short.layout.xaxis.tickvals) == 30
    tokens = [f"t{i}" for i in range(150)]
    long = attention_heatmap([[0.0] * 150] * 150, tokens, title="t")
    ticks = list(long.layout.xaxis.tickvals)
    assert 30 <= len(ticks) <= 61 and ticks[0] == 0 and ticks[-1] == 149
    assert list(long.layout.xaxis.ticktext) == [tokens[i] for i in ticks]


def test_every_fitting_evaluation_runs_from_the_run_page(trained):
    ctx, run_id = trained
    run = ctx.store.get_run(run_id)
    fitting = evaluate_section.fitting_evaluations(ctx, run)
    assert {"perplexity", "few-shot", "win-rate"} <= set(fitting)
    assert not {"bleu", "task-accuracy", "preference-accuracy"} & set(fitting)
    forms = evaluate_section.evaluation_forms(ctx.registry)
    assert set(forms) == set(ctx.registry.names("evaluations"))
    assert "split" in [leaf.dotted for leaf in forms["perplexity"].leaves]

    with pytest.raises(evaluate_section.EvaluateError, match="seq2seq"):
        evaluate_section.run_evaluation(ctx, run_id, "bleu", {})
    with pytest.raises(evaluate_section.EvaluateError, match="split"):
        evaluate_section.run_evaluation(ctx, run_id, "perplexity", {"split": "nowhere"})
    before = len(ctx.store.evaluations(run_id))
    outcome = evaluate_section.run_evaluation(
        ctx, run_id, "perplexity", {"samples": 2, "sample_tokens": 8}
    )
    assert outcome.status == "succeeded" and "perplexity" in outcome.metrics
    assert len(outcome.samples) == 2 and "stored" in outcome.markdown()
    rows = evaluate_section.evaluation_rows(ctx, run_id)
    assert len(rows) == before + 1 and rows[0][:3] == [outcome.evaluation_id, "perplexity",
                                                       "succeeded"]  # fmt: skip
    detail = evaluate_section.evaluation_detail(ctx, run_id, outcome.evaluation_id)
    assert "perplexity" in detail.markdown and "**samples** (2)" in detail.markdown
    assert detail.markdown.count("```text") == 2
    with pytest.raises(evaluate_section.EvaluateError):
        evaluate_section.evaluation_detail(ctx, run_id, 999)
    choice, table, note = evaluate_section.refresh_values(ctx, run_id)
    assert choice["value"] == fitting[0] and table == rows and "fit this run" in note
