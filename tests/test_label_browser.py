"""The Label tab's keyboard shortcuts in a real Chromium (headless, through Playwright).

Needs Debian's Chromium and is deselected by default; run it with ``pytest -m browser
tests/test_label_browser.py``.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from workbench.paths import Paths
from workbench.registry import load_registry
from workbench.store import open_store
from workbench.ui import label_tab
from workbench.ui.context import UIContext

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]


def test_keys_label_skip_and_undo_only_while_the_tab_is_shown(tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    paths = Paths(tmp_path / "home").ensure()
    store = open_store(paths)
    ctx = UIContext(paths=paths, store=store, registry=load_registry(use_entry_points=False))
    prompts = store.add_prompts((f"Q: q{i}?\nA:", "test", {}) for i in range(3))
    done = store.add_completions([(p, f" {side}{p}", {}) for p in prompts for side in "xy"])
    store.add_pairs((done[i], done[i + 1]) for i in range(0, len(done), 2))
    # The tab records the annotator when it first serves a pair; record it here too, so that the
    # expected prompt below can be read before the browser's first request has been answered.
    store.ensure_annotator("local", "human")
    with gr.Blocks() as app, gr.Tabs(selected="other"):
        with gr.Tab("Other", id="other"):
            gr.Markdown("another tab")
        with gr.Tab("Label", id="label") as tab:
            label_tab.build_label_tab(ctx, tab)
    _, url, _ = app.launch(prevent_thread_lock=True, quiet=True)
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.goto(url)
            page.wait_for_timeout(1000)
            page.keyboard.press("2")  # the Label tab is hidden: nothing happens
            page.wait_for_timeout(500)
            assert store.labels() == []

            page.get_by_role("tab", name="Label").click()
            prompt = page.locator("#wb-label-prompt textarea")
            sync_api.expect(prompt).to_have_value(store.unlabelled_pairs("local")[0].prompt)
            page.keyboard.press("2")
            sync_api.expect(page.locator("#wb-label-status")).to_contain_text("B better")
            first = store.labels()
            assert [(x.choice, x.annotator) for x in first] == [("b", "local")]
            page.keyboard.press("s")
            sync_api.expect(page.locator("#wb-label-status")).to_contain_text("Skipped")
            page.keyboard.press("4")
            sync_api.expect(page.locator("#wb-label-status")).to_contain_text("Both bad")
            assert sorted(x.choice for x in store.labels()) == ["b", "both_bad"]
            page.keyboard.press("u")
            sync_api.expect(page.locator("#wb-label-status")).to_contain_text("Undid")
            assert [x.choice for x in store.labels()] == ["b"]
            browser.close()
    finally:
        app.close()
        store.close()
