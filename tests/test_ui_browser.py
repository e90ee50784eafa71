"""The dashboard in a real headless Chromium, clicked through as a new user would.

Open the app on the New run form's default (the quickstart), shorten it (a warning first: the
warm-up outlasts the run; then a bad value: the field shows its error and nothing starts),
launch it, watch it finish on the Runs tab with its curves in view, evaluate it from its page,
clone it into a second run, compare the two, generate twice from one in the Playground (an empty
seed: different texts), look at the Plugins tab and delete a run, taking screenshots on the way.
A second test races a slow run change with a quick task choice in the Prompting tab. Set ``WORKBENCH_SCREENSHOTS=docs/screenshots`` to keep them (they are written to a
temporary folder otherwise).

Needs Debian's Chromium (``apt-get install chromium``) and is deselected by default; run it with
``pytest -m browser tests/test_ui_browser.py``.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from ui_support import CORPUS, recorded_gpt_run, ui_home

from workbench.ui import prompting_tab
from workbench.ui.app import build_app, launch_kwargs

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RUN_TIMEOUT_MS = 180_000
SCREENSHOTS = ("new-run.png", "run-page.png", "compare.png", "playground.png", "plugins.png")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="the browser extra (playwright) is needed")
    # Only the installed plugins, as a user has them (the screenshots show the Plugins tab).
    with ui_home(tmp_path_factory.mktemp("ui-browser"), test_plugins=False) as ctx:
        app = build_app(ctx)
        _, url, _ = app.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs(ctx))
        try:
            yield ctx, url
        finally:
            app.close()


def choose(page, element: str, option: str) -> None:
    """Pick ``option`` in the Gradio dropdown with id ``element``."""
    page.locator(f"#{element} input").click()
    page.get_by_role("option", name=option, exact=True).click()


def text_box(page, element: str):
    return page.locator(f"#{element} input, #{element} textarea").first


def fill(page, element: str, value: str) -> None:
    box = text_box(page, element)
    box.fill(value)
    box.press("Tab")


def settled(page, box, unlike: str | None = None, timeout_s: float = 90.0) -> str:
    """The text of ``box`` once a streamed generation into it has ended (unchanged for a second,
    not empty, and not ``unlike``)."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        now = box.input_value()
        if now and now != unlike and now == last:
            return now
        last = now
        page.wait_for_timeout(1000)
    raise AssertionError(f"the generation did not settle: {last!r}")


def slow_first_load(ctx, run_id: int, seconds: float) -> None:
    """Make the dashboard's first load of run ``run_id``'s model take ``seconds`` longer (a big
    model on a busy machine), so that a quick choice made meanwhile races it."""
    load = ctx.models.load
    delayed = {"done": False}

    def slow(run, paths, registry):
        if run.id == run_id and not delayed["done"]:
            delayed["done"] = True
            time.sleep(seconds)
        return load(run, paths, registry)

    ctx.models.load = slow


def test_a_new_user_trains_watches_compares_and_generates(served, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ctx, url = served
    shots = Path(os.environ.get("WORKBENCH_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.set_default_timeout(30_000)
        # The machine may be busy (2 cores shared with other work): wait as long as a click may.
        expect.set_options(timeout=30_000)
        page.goto(url)
        expect(page.get_by_role("heading", name="Workbench")).to_be_visible()

        # -- New run: the form opens on the quickstart, a config that runs ---------------------
        page.get_by_role("tab", name="New run").click()
        expect(text_box(page, "wb-name")).to_have_value("quickstart-synthetic-gpt")
        expect(text_box(page, "wb-start-from")).to_have_value(re.compile("^quickstart"))
        fill(page, "wb-name", "first-run")
        fill(page, "wb-stage-pretrain-max_steps", "40")
        fill(page, "wb-architecture-gpt-n_layer", "2")
        fill(page, "wb-architecture-gpt-n_embd", "64")
        # Valid, but the warm-up (100 steps) outlasts the run: a warning beside the field.
        page.locator("#wb-validate").click()
        expect(page.locator("#wb-new-run-status")).to_contain_text("It would run, but")
        expect(page.locator("#wb-stage-pretrain-warmup_steps")).to_contain_text("never decays")
        for field, value in {
            "batch_size": "8",
            "warmup_steps": "4",
            "eval_interval": "20",
            "eval_batches": "2",
            "sample_tokens": "60",
        }.items():
            fill(page, f"wb-stage-pretrain-{field}", value)
        fill(page, "wb-dataset-synthetic-size_chars", "20000")
        fill(page, "wb-dataset-synthetic-task_train_size", "10")
        fill(page, "wb-dataset-synthetic-task_eval_size", "10")

        # A bad value: the field shows its error, the status the CLI's text, nothing starts.
        fill(page, "wb-stage-pretrain-lr", "-1")
        page.locator("#wb-launch").click()
        expect(page.locator("#wb-stage-pretrain-lr")).to_contain_text(
            "Input should be greater than 0"
        )
        expect(page.locator("#wb-new-run-status")).to_contain_text(
            "stage.lr: Input should be greater than 0"
        )
        assert ctx.store.list_runs() == []
        fill(page, "wb-stage-pretrain-lr", "0.01")
        page.locator("#wb-validate").click()
        expect(page.locator("#wb-new-run-status")).to_contain_text("Valid")
        expect(page.locator("#wb-new-run-status")).not_to_contain_text("It would run, but")
        expect(page.locator("#wb-stage-pretrain-warmup_steps")).not_to_contain_text("⚠")
        page.locator("#wb-stage").scroll_into_view_if_needed()
        page.mouse.wheel(0, -200)
        page.wait_for_timeout(300)
        page.screenshot(path=shots / "new-run.png", full_page=False)

        # -- Launch: the page jumps to the run, its curves in view, and it finishes ------------
        page.locator("#wb-launch").click()
        header = page.locator("#wb-run-header")
        expect(header).to_contain_text("first-run")
        plot = page.locator("#wb-loss-plot")
        expect(plot).to_be_visible()
        assert plot.bounding_box()["y"] < 900, "the curves are above the fold"
        expect(header).to_contain_text("succeeded", timeout=RUN_TIMEOUT_MS)
        expect(page.locator("#wb-loss-plot .js-plotly-plot")).to_be_visible()
        expect(page.locator("#wb-runs-table")).to_contain_text("first-run")
        cancel = page.locator("#wb-run-cancel")
        expect(cancel).to_be_disabled()
        opacity = cancel.evaluate("b => parseFloat(getComputedStyle(b).opacity)")
        assert opacity < 0.6, "a disabled Cancel looks disabled"
        page.screenshot(path=shots / "run-page.png", full_page=False)

        # -- Evaluate from the run page: any evaluation that fits, its samples listed -----------
        page.locator("#wb-evaluate").get_by_text("Evaluate").first.click()
        choose(page, "wb-evaluate-choice", "perplexity")
        fill(page, "wb-evaluation-perplexity-sample_tokens", "20")
        page.locator("#wb-evaluate-run").click()
        expect(page.locator("#wb-evaluate-status")).to_contain_text("stored", timeout=60_000)
        expect(page.locator("#wb-evaluations")).to_contain_text("perplexity")
        expect(page.locator("#wb-evaluation-detail")).to_contain_text("samples")
        assert [e.name for e in ctx.store.evaluations(1)] == ["perplexity"]

        # -- Clone into a second run with another learning rate --------------------------------
        page.get_by_role("button", name="Clone into New run").click()
        expect(text_box(page, "wb-name")).to_have_value("first-run-copy")
        fill(page, "wb-name", "second-run")
        fill(page, "wb-stage-pretrain-lr", "0.003")
        page.locator("#wb-launch").click()
        expect(header).to_contain_text("second-run")
        expect(header).to_contain_text("succeeded", timeout=RUN_TIMEOUT_MS)
        statuses = {r.name: r.status for r in ctx.store.list_runs()}
        assert statuses == {"first-run": "succeeded", "second-run": "succeeded"}
        # Clicking a row of the table opens that run's page.
        page.locator("#wb-runs-table").get_by_text("first-run", exact=True).click()
        expect(header).to_contain_text("Run 1 · first-run")

        # -- Compare the two -------------------------------------------------------------------
        page.get_by_role("tab", name="Compare").click()
        runs = ctx.store.list_runs()
        for run in reversed(runs):
            choose(page, "wb-compare-runs", f"{run.id} · {run.name}")
        page.keyboard.press("Escape")
        expect(page.locator("#wb-compare-curves .js-plotly-plot")).to_be_visible()
        expect(page.locator("#wb-compare-diff")).to_contain_text("stage.lr")
        page.wait_for_timeout(1000)  # let plotly finish drawing
        page.screenshot(path=shots / "compare.png", full_page=True)

        # -- Playground: an empty seed, so two Generates differ; then the attention --------------
        page.get_by_role("tab", name="Playground").click()
        expect(text_box(page, "wb-play-run")).to_have_value("2 · second-run")  # the newest
        expect(text_box(page, "wb-play-seed")).to_have_value("")
        fill(page, "wb-play-prompt", "the ")
        out = page.locator("#wb-play-out-a textarea")
        page.locator("#wb-play-generate").click()
        first = settled(page, out)
        page.locator("#wb-play-generate").click()
        second = settled(page, out, unlike=first)
        assert first and second and first != second
        page.get_by_text("Attention of the last generation").click()
        expect(page.locator("#wb-play-heatmap .js-plotly-plot")).to_be_visible(timeout=60_000)
        page.get_by_role("tab", name="Chat").click()
        expect(page.locator("#wb-chat-send")).to_be_disabled()  # no turn template
        page.wait_for_timeout(1000)
        page.screenshot(path=shots / "playground.png", full_page=True)

        # -- Plugins ----------------------------------------------------------------------------
        page.get_by_role("tab", name="Plugins").click()
        expect(page.locator("#wb-plugins-table")).to_contain_text("pretrain")
        page.screenshot(path=shots / "plugins.png", full_page=False)

        # -- Delete the second run: a message says so, and stays ---------------------------------
        page.get_by_role("tab", name="Runs").click()
        choose(page, "wb-run-picker", "2 · second-run")
        expect(header).to_contain_text("Run 2 · second-run")
        page.locator("#wb-run-delete").click()
        page.locator("#wb-run-confirm").click()
        message = page.locator("#wb-run-message")
        expect(message).to_contain_text("Run 2 deleted.")
        page.wait_for_timeout(2500)  # a refresh of the page (timer ticks) keeps it
        expect(message).to_contain_text("Run 2 deleted.")
        assert [r.name for r in ctx.store.list_runs()] == ["first-run"]
        browser.close()

    for name in SCREENSHOTS:
        shot = shots / name
        assert shot.is_file() and shot.stat().st_size > 10_000, name
        if os.environ.get("WORKBENCH_SCREENSHOTS"):
            shrink(shot)


def test_prompting_a_slow_older_choice_never_overwrites_a_newer_one(tmp_path):
    """The tab opens on the newest run, whose model loads slowly; a user picks another run
    meanwhile, then a task. The slow answer for the first run comes last, and must not put its
    tasks and examples under the run picked after it; Show names what it answered for."""
    import gradio as gr
    from playwright.sync_api import expect, sync_playwright

    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium)")
    with ui_home(tmp_path, test_plugins=False) as ctx:
        older = recorded_gpt_run(ctx, "older", {"name": "synthetic", **CORPUS})
        newest = recorded_gpt_run(ctx, "newest", {"name": "synthetic", **CORPUS, "seed": 1})
        mine = prompting_tab.selection(ctx, str(older))
        theirs = prompting_tab.selection(ctx, str(newest))
        assert mine.examples[0] != theirs.examples[0], "the two corpora hold other examples"
        slow_first_load(ctx, newest, seconds=5.0)
        with gr.Blocks() as app, gr.Tabs(selected="other"):
            with gr.Tab("Other", id="other"):
                gr.Markdown("another tab")
            with gr.Tab("Prompting", id="prompting") as tab:
                prompting_tab.build_prompting_tab(ctx, tab)
        _, url, _ = app.launch(prevent_thread_lock=True, quiet=True)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1360, "height": 900})
                page.set_default_timeout(30_000)
                expect.set_options(timeout=30_000)
                page.goto(url)
                page.get_by_role("tab", name="Prompting").click()  # lists the newest's tasks
                expect(text_box(page, "wb-prompt-run")).to_have_value(f"{newest} · newest")
                choose(page, "wb-prompt-run", f"{older} · older")  # while the newest loads
                page.wait_for_timeout(7000)  # the slow answer for the newest has come
                expect(text_box(page, "wb-prompt-task")).to_have_value(mine.task)
                expect(text_box(page, "wb-prompt-example")).to_have_value(mine.examples[0][0])
                choose(page, "wb-prompt-task", "sort")
                sort = prompting_tab.selection(ctx, str(older), "sort").examples[0][0]
                expect(text_box(page, "wb-prompt-example")).to_have_value(sort)
                page.locator("#wb-prompt-show").click()
                expect(page.locator("#wb-prompt-summary")).to_contain_text(
                    f"Run {older} · older — task sort, example 0"
                )
                browser.close()
        finally:
            app.close()


def shrink(path: Path) -> None:
    """Re-save a screenshot with a 256-colour palette: a third of the size, same look."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
