"""The web console in a real browser: Playwright drives Debian's Chromium against ``shelfwise serve``
on the small demo store, clicking through every page as a person would.

Needs ``apt-get install chromium`` (Playwright cannot download browsers here) and the ``playwright``
package (dev extra). Skips with the reason when either is missing, except under ``CI=true``, where
a missing browser fails. Each test saves a screenshot of its page; set ``SHELFWISE_SCREENSHOTS`` to
a folder to keep them (the README's pictures come from such a run).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from e2e_support import ADMIN, CONSOLE, serving

pytestmark = [pytest.mark.slow, pytest.mark.browser]
# Root in a container needs --no-sandbox; the rest keep Chromium off the (closed) network.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def _missing(why: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but the browser tests cannot run: {why}")
    pytest.skip(why)


def _chromium() -> str:
    path = os.environ.get("SHELFWISE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).is_file():
        _missing("Chromium is not installed (apt-get install chromium, or set SHELFWISE_CHROMIUM)")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
    executable = _chromium()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def examples(demo_home: tuple[dict[str, str], Path]) -> dict[str, str]:
    """Ids of the demo store that show each page's feature (the ids ``shelfwise demo`` prints)."""
    from training.commands import demo_examples

    return demo_examples(demo_home[1])


@pytest.fixture(scope="module")
def server(demo_home: tuple[dict[str, str], Path]) -> Iterator[str]:
    """A real server, after a second forecasting version was registered as challenger."""
    from models import registry
    from models.settings import Settings

    env = demo_home[0]
    settings = Settings(_env_file=None, home=env["SHELFWISE_HOME"])  # type: ignore[call-arg]
    champion = registry.fetch_alias(settings, "forecasting")
    registry.log_and_register(
        settings,
        family="forecasting",
        model_dir=champion.path,
        params={},
        metrics={"wape": 0.5},
        primary_metric="wape",
        greater_is_better=False,
        force_promote=False,
    )
    with serving(env) as url:
        yield url


@pytest.fixture()
def page(browser: Any, server: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=server)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    name = request.node.name.removeprefix("test_")
    shot = tmp_path / f"{name}.png"
    tab.screenshot(path=str(shot), full_page=True)
    if keep := os.environ.get("SHELFWISE_SCREENSHOTS"):
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / f"console-{name}.png")
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def _open(page: Any, path: str) -> None:
    """Open ``path`` with the console key in the fragment, as ``shelfwise demo``'s link does."""
    page.goto(f"{path}#key={CONSOLE}")
    page.wait_for_selector("main[aria-busy=false]")
    assert CONSOLE not in page.url  # the key leaves the address bar at once


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_search_suggests_finds_narrows_by_facet_and_corrects_typos(page: Any, examples: dict) -> None:
    expect = _expect()
    _open(page, "/console/search")
    box = page.get_by_test_id("search-input")
    box.fill(examples["prefix"])  # suggestions as you type
    suggestions = page.get_by_test_id("suggestions").locator("li")
    expect(suggestions.first).to_be_visible()
    assert all(s.lower().startswith(examples["prefix"]) for s in suggestions.all_inner_texts())
    box.fill(examples["query"])
    box.press("Enter")
    results = page.get_by_test_id("result")
    expect(results.first).to_be_visible()
    first = results.first.inner_text()
    assert re.search(r"\d+\.\d\d", first) and "score" in first  # a title, a price and a score
    stats = page.get_by_test_id("search-stats")
    total = int(stats.inner_text().split()[0])
    assert re.search(r"\d+ ms", stats.inner_text())

    brand = page.locator("[data-facet=brand] [data-testid=facet]").last  # the smallest brand
    value, count = brand.get_attribute("data-value"), int(brand.locator(".count").inner_text())
    brand.click()
    expect(page.get_by_test_id("chip")).to_have_text(f"brand: {value} ×")
    expect(stats).to_contain_text(f"{count} matches")
    assert count < total and "brand=" in page.url
    # The URL reproduces the page: a fresh tab on it shows the same first result.
    again = page.context.new_page()
    again.goto(page.url)
    expect(again.get_by_test_id("result").first).to_be_visible()
    assert again.get_by_test_id("result").first.inner_text() == results.first.inner_text()
    again.close()

    word = examples["query"].split()[-1]
    _open(page, f"/console/search?q={word[:2]}{word[2] * 2}{word[3:]}")  # one letter doubled
    expect(page.get_by_test_id("corrected")).to_contain_text(f"Showing results for “{word}")


def _rec_ids(page: Any) -> list[str]:
    return [r.get_attribute("data-item") for r in page.get_by_test_id("rec").all()]


def test_shopper_events_change_the_next_recommendations(page: Any, examples: dict[str, str]) -> None:
    expect = _expect()
    _open(page, f"/console/shopper?user={examples['user']}")
    recs = page.get_by_test_id("rec")
    expect(recs.first).to_be_visible()
    expect(page.get_by_test_id("rec-source")).to_contain_text("personalized")  # the busiest shopper is known
    assert recs.first.locator(".muted").inner_text().count("·") == 2  # id · reason · score
    before = _rec_ids(page)
    viewed = before[0]
    recs.first.locator("[data-action=view]").click()
    expect(page.get_by_test_id("changed")).to_contain_text(f"After “view {viewed}”")
    after = _rec_ids(page)
    assert viewed not in after and after != before  # what the shopper looks at is context now
    assert page.locator("[data-testid=rec].fresh").count() >= 1

    # Anonymous: the session lives in the URL and shapes the answer.
    _open(page, "/console/shopper")
    expect(page.get_by_test_id("rec").first).to_be_visible()
    anonymous = _rec_ids(page)
    page.get_by_test_id("rec").nth(2).locator("[data-action=add_to_cart]").click()
    expect(page.get_by_test_id("session").locator(f"a[data-item={anonymous[2]}]")).to_be_visible()
    assert f"session={anonymous[2]}" in page.url
    expect(page.get_by_test_id("changed")).to_be_visible()
    assert _rec_ids(page) != anonymous


def test_product_page_shows_the_item_with_similar_and_bought_together(page: Any, examples: dict) -> None:
    expect = _expect()
    _open(page, f"/console/item?id={examples['item']}")
    card = page.get_by_test_id("item-card")
    expect(card).to_contain_text(examples["item"])
    title = card.locator("h1").inner_text()
    similar = page.get_by_test_id("similar-item")
    expect(similar.first).to_be_visible()
    expect(page.get_by_test_id("together-item").first).to_be_visible()
    target = similar.first.locator("a").get_attribute("data-item")
    similar.first.locator("a").click()  # a similar item opens its own product page
    expect(card).to_contain_text(target)
    assert f"id={target}" in page.url and card.locator("h1").inner_text() != title


def test_checkout_check_scores_shows_the_deciding_rule_and_sends_the_label(
    page: Any, server: str, demo_home: tuple[dict[str, str], Path]
) -> None:
    expect = _expect()
    _open(page, "/console/checkout")
    form = page.get_by_test_id("checkout-form")
    transactions = pd.read_parquet(demo_home[1] / "transactions.parquet")
    assert form.locator("select[name=channel] option").count() == transactions["channel"].nunique() + 1
    form.locator("input[name=amount]").fill("950")
    page.get_by_test_id("score-button").click()
    decision = page.get_by_test_id("decision")
    expect(decision).to_have_text(re.compile("approve|review|decline"))
    assert 0.0 <= float(page.get_by_test_id("score").inner_text()) <= 1.0
    assert page.get_by_test_id("rule").inner_text().startswith("the model")
    page.get_by_test_id("label-fraud").click()
    expect(page.get_by_test_id("label-sent")).to_contain_text("fraud")

    # A blocked customer is declined by the rule, and the page says which rule decided.
    rules = {"block": {"customer_id": ["blocked-by-console-test"]}, "allow": {}, "rules": []}
    put = httpx.put(f"{server}/v1/admin/fraud-rules", json=rules, headers={"X-API-Key": ADMIN})
    assert put.status_code == 200, put.text
    _open(page, "/console/checkout")
    page.locator("input[name=customer_id]").fill("blocked-by-console-test")
    page.get_by_test_id("score-button").click()
    expect(page.get_by_test_id("decision")).to_have_text("decline")
    expect(page.get_by_test_id("rule")).to_have_text("block:customer_id")
    assert "customer_id=blocked-by-console-test" in page.url


def test_planner_draws_forecast_interval_and_sales_and_gives_reorder_advice(
    page: Any, examples: dict[str, str]
) -> None:
    expect = _expect()
    item, store = examples["series_item"], examples["series_store"]
    _open(page, f"/console/planner?item={item}&store={store}&horizon=21&lead_time=5")
    chart = page.get_by_test_id("chart")
    expect(chart).to_be_visible()
    expect(chart.get_by_test_id("point")).to_have_count(21)
    assert chart.get_by_test_id("history-line").count() == 1  # recent sales beside the forecast
    assert chart.get_by_test_id("interval").get_attribute("d").count("L") > 40
    reorder = float(page.get_by_test_id("reorder-reorder-point").inner_text())
    safety = float(page.get_by_test_id("reorder-safety-stock").inner_text())
    assert reorder >= safety >= 0
    page.locator("input[name=service_level]").fill("0.99")  # a higher level needs more safety stock
    page.locator("input[name=service_level]").press("Enter")
    expect(page.get_by_test_id("reorder-safety-stock")).not_to_have_text(f"{safety:.1f}")
    assert float(page.get_by_test_id("reorder-safety-stock").inner_text()) > safety
    assert "service_level=0.99" in page.url


def test_models_page_lists_versions_with_intervals_and_promotes_then_rolls_back(
    page: Any, server: str
) -> None:
    expect = _expect()
    _open(page, "/console/models")
    section = page.locator("section[data-family=forecasting]")
    expect(section).to_contain_text("serving v1")
    assert re.search(r"wape\s+\d\.\d{4} \[\d\.\d{4}, \d\.\d{4}\]", section.inner_text())
    expect(section.locator("tr[data-version='2']")).to_contain_text("challenger")
    section.locator("tr[data-version='2'] [data-testid=promote]").click()
    expect(page.get_by_test_id("models-note")).to_contain_text("forecasting: version 2 is champion")
    expect(section).to_contain_text("serving v2")
    assert httpx.get(f"{server}/ready").json()["families"]["forecasting"]["version"] == "2"
    rollback = section.locator("tr[data-version='1'] [data-testid=promote]")
    expect(rollback).to_have_text("Roll back to v1")
    rollback.click()
    expect(section).to_contain_text("serving v1")
    assert httpx.get(f"{server}/ready").json()["families"]["forecasting"]["version"] == "1"


def test_without_a_key_the_console_asks_for_one_and_a_typed_key_works(page: Any) -> None:
    expect = _expect()
    page.goto("/console/models")
    expect(page.get_by_test_id("key-status")).to_have_text("no API key")
    expect(page.get_by_test_id("error")).to_contain_text("401")
    page.locator("#key-input").fill(CONSOLE)
    page.locator("#key-use").click()
    expect(page.locator("section[data-family=recsys]")).to_be_visible()
    assert CONSOLE not in page.url
    _open(page, "/console")
    expect(page.get_by_test_id("families")).to_contain_text("loaded")
