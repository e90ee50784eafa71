"""The dashboard in a real headless Chromium, clicked through as a new user would.

Open the app, fill the New run form (a bad value first: the field shows its error and nothing
starts), launch a tiny GPT run, watch it finish on the Runs tab, clone it into a second run, compare
the two, generate from one in the Playground, and look at the Plugins tab, taking screenshots on
the way. Set ``WORKBENCH_SCREENSHOTS=docs/screenshots`` to keep them (they are written to a
temporary folder otherwise).

Needs Debian's Chromium (``apt-get install chromium``) and is deselected by default; run it with
``pytest -m browser tests/test_ui_browser.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from ui_support import ui_home

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


def test_a_new_user_trains_watches_compares_and_generates(served, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    ctx, url = served
    shots = Path(os.environ.get("WORKBENCH_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.set_default_timeout(30_000)
        page.goto(url)
        expect(page.get_by_role("heading", name="Workbench")).to_be_visible()

        # -- New run: the form ---------------------------------------------------------------
        page.get_by_role("tab", name="New run").click()
        choose(page, "wb-stage", "pretrain")
        choose(page, "wb-architecture", "gpt")
        choose(page, "wb-architecture-gpt-preset", "gpt-nano")
        choose(page, "wb-tokenizer", "char")
        choose(page, "wb-dataset", "synthetic")
        fill(page, "wb-name", "first-run")
        for field, value in {
            "max_steps": "40",
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
        page.locator("#wb-stage").scroll_into_view_if_needed()
        page.mouse.wheel(0, -200)
        page.wait_for_timeout(300)
        page.screenshot(path=shots / "new-run.png", full_page=False)

        # -- Launch: the page jumps to the run, which trains and finishes ----------------------
        page.locator("#wb-launch").click()
        header = page.locator("#wb-run-header")
        expect(header).to_contain_text("first-run")
        expect(header).to_contain_text("succeeded", timeout=RUN_TIMEOUT_MS)
        expect(page.locator("#wb-loss-plot .js-plotly-plot")).to_be_visible()
        expect(page.locator("#wb-runs-table")).to_contain_text("first-run")
        page.screenshot(path=shots / "run-page.png", full_page=False)

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

        # -- Playground: generate, and the attention of the generation --------------------------
        page.get_by_role("tab", name="Playground").click()
        fill(page, "wb-play-prompt", "the ")
        page.locator("#wb-play-generate").click()
        expect(page.locator("#wb-play-out-a textarea")).not_to_have_value("", timeout=60_000)
        page.get_by_text("Attention of the last generation").click()
        expect(page.locator("#wb-play-heatmap .js-plotly-plot")).to_be_visible(timeout=60_000)
        page.wait_for_timeout(1000)
        page.screenshot(path=shots / "playground.png", full_page=True)

        # -- Plugins ----------------------------------------------------------------------------
        page.get_by_role("tab", name="Plugins").click()
        expect(page.locator("#wb-plugins-table")).to_contain_text("pretrain")
        page.screenshot(path=shots / "plugins.png", full_page=False)
        browser.close()

    for name in SCREENSHOTS:
        shot = shots / name
        assert shot.is_file() and shot.stat().st_size > 10_000, name
        if os.environ.get("WORKBENCH_SCREENSHOTS"):
            shrink(shot)


def shrink(path: Path) -> None:
    """Re-save a screenshot with a 256-colour palette: a third of the size, same look."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
