"""The accessibility audit as it stands: axe-core run on every tab in its drawn state (issue 39).

    python bench/accessibility.py [--sizes 1280x800,390x844] [--tabs generate,attention,...]

Starts `python app.py`, draws each tab as a student's first minute there would (the same steps as
docs/screenshots.py), and runs axe-core (through axe-playwright-python) with the WCAG 2.0 A/AA,
2.1 AA and 2.2 AA rules. Prints, per tab and size, the violations by impact (nodes), then each
rule with its nodes over all pages and an example target. tests/test_accessibility.py is the CI
gate on this same audit (no serious or critical violation).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "docs")]

from bench.common import machine, table  # noqa: E402
from pages import AXE_TAGS, axe_violations, chromium  # noqa: E402  (tests/pages.py)
from screenshots import TABS, served_app  # noqa: E402  (docs/screenshots.py: how each tab is drawn)

IMPACTS = ("critical", "serious", "moderate", "minor")


PLOTS_SHOWN = """() => [...document.querySelectorAll('.js-plotly-plot')].filter(p => p.offsetParent).map(p =>
    ({id: p.closest('[id]')?.id, role: p.getAttribute('role'), name: p.getAttribute('aria-label'),
      words: p.layout?.meta?.in_words ?? null}))"""
"""Each plot on screen: where it is, the role and name a screen reader gets, and its figure's words."""


def audit(url: str, sizes: list[tuple[int, int]], tabs: list[str]) -> list[tuple[str, str, list[dict], list[dict]]]:
    """(tab, size, axe's violations, the plots on screen (`PLOTS_SHOWN`)) for each tab drawn at each
    size (a phone's page a touch screen). The sizes are audited at once, each by its own browser in
    a thread of its own (Playwright's sync API is one instance per thread): axe is the audit's
    largest cost and runs in each browser's page, so two sizes use both cores."""
    with ThreadPoolExecutor(len(sizes)) as pool:
        passes = list(pool.map(lambda size: _audit_size(url, size, tabs), sizes))
    return [row for rows in passes for row in rows]


def _audit_size(url: str, size: tuple[int, int], tabs: list[str]) -> list[tuple[str, str, list[dict], list[dict]]]:
    from playwright.sync_api import sync_playwright

    width, height = size
    phone, found = width < 600, []
    with sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport={"width": width, "height": height}, is_mobile=phone, has_touch=phone)
        page = context.new_page()
        page.goto(url)
        page.get_by_role("heading", name="tinyshakespeare-gpt").wait_for(timeout=120_000)
        for tab in tabs:
            TABS[tab](page)
            page.wait_for_timeout(400)          # what the tab's drawing set off settles
            found.append((tab, f"{width}x{height}", axe_violations(page), page.evaluate(PLOTS_SHOWN)))
        browser.close()
    return found


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="1280x800,390x844")
    p.add_argument("--tabs", default=",".join(TABS))
    args = p.parse_args(argv)
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    tabs = [t.strip() for t in args.tabs.split(",") if t.strip()]
    with served_app() as url:
        found = audit(url, sizes, tabs)
    rows, rules, example = [], Counter(), {}
    impact_of = {}
    for tab, size, violations, _ in found:
        by_impact = Counter()
        for v in violations:
            nodes = len(v["nodes"])
            by_impact[v["impact"]] += nodes
            rules[v["id"]] += nodes
            impact_of[v["id"]] = v["impact"]
            example.setdefault(v["id"], v["nodes"][0]["target"][0] if v["nodes"] else "")
        rows.append([tab, size] + [f"{by_impact.get(i, 0):,}" for i in IMPACTS])
    print(f"axe-core on every tab, drawn; tags {', '.join(AXE_TAGS)}; {machine()}\n")
    print(table(["tab", "size", *IMPACTS], rows))
    print()
    by_rule = defaultdict(list)
    for rule, nodes in rules.most_common():
        by_rule[impact_of[rule]].append([rule, impact_of[rule], f"{nodes:,}", f"`{str(example[rule])[:70]}`"])
    print(table(["rule", "impact", "nodes (all pages)", "an example"], [r for i in IMPACTS for r in by_rule[i]]))


if __name__ == "__main__":
    main()
