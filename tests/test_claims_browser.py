"""The Claims tab in a real headless Chromium, after the tiny demo (``workbench demo --minutes
1``): every claim's panel is drawn with a chart and a verdict, and picking runs re-judges them.

Set ``WORKBENCH_DEMO_HOME=DIR`` to open a home where a demo already ran instead (the README's
screenshot comes from the default demo: ``WORKBENCH_DEMO_HOME=~/.workbench
WORKBENCH_SCREENSHOTS=docs/screenshots pytest -m browser tests/test_claims_browser.py``).

Needs Debian's Chromium and is deselected by default; run it with ``pytest -m browser
tests/test_claims_browser.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from demo_support import run_tiny_demo

from workbench.claims import claim_specs
from workbench.paths import resolve_home
from workbench.registry import load_registry
from workbench.store import open_store
from workbench.ui.app import build_app, launch_kwargs
from workbench.ui.context import UIContext

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"]
VERDICT = r"holds|does not hold|not yet measured"


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory) -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="the browser extra (playwright) is needed")
    given = os.environ.get("WORKBENCH_DEMO_HOME")
    if given:
        return Path(given).expanduser()
    home = tmp_path_factory.mktemp("claims-browser") / "home"
    done = run_tiny_demo(home)
    assert done.returncode == 0, done.stderr[-3000:]
    return home


def test_every_claim_panel_is_drawn_with_a_verdict(demo_home, tmp_path, monkeypatch):
    import re

    from playwright.sync_api import expect, sync_playwright

    for name in ("WORKBENCH_PLUGINS", "WORKBENCH_DISABLE_PLUGINS", "WORKBENCH_PLUGIN_MODULES"):
        monkeypatch.delenv(name, raising=False)
    paths = resolve_home(demo_home).ensure()
    store = open_store(paths)
    ctx = UIContext(paths=paths, store=store, registry=load_registry())
    names = [spec.name for spec in claim_specs(ctx.registry)]
    assert len(names) >= 11
    shots = Path(os.environ.get("WORKBENCH_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    app = build_app(ctx)
    _, url, _ = app.launch(prevent_thread_lock=True, quiet=True, **launch_kwargs(ctx))
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1360, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(url)
            page.get_by_role("tab", name="Claims").click()
            expect(page.locator("#wb-claims-summary")).to_contain_text("every succeeded run")
            for name in names:
                verdict = page.locator(f"#wb-claim-{name}-verdict")
                expect(verdict).to_contain_text(re.compile(VERDICT))
                expect(page.locator(f"#wb-claim-{name}-plot .js-plotly-plot")).to_be_visible()
            page.wait_for_timeout(1500)  # let plotly finish drawing
            page.locator("#wb-claims-summary").scroll_into_view_if_needed()
            page.screenshot(path=shots / "claims.png", full_page=False)

            # Judge one run only: the panels follow the pick.
            seq2seq = next(r for r in store.list_runs() if r.stage == "seq2seq")
            page.locator("#wb-claims-runs input").click()
            page.get_by_role("option", name=f"{seq2seq.id} · {seq2seq.name} (seq2seq)").click()
            page.keyboard.press("Escape")
            expect(page.locator("#wb-claims-summary")).to_contain_text(f"runs {seq2seq.id}")
            expect(page.locator("#wb-claim-ppo-bounded-kl-verdict")).to_contain_text(
                "not yet measured"
            )
            browser.close()
    finally:
        app.close()
        store.close()
    shot = shots / "claims.png"
    assert shot.is_file() and shot.stat().st_size > 10_000
