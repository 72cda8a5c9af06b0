"""The static edition beside the server: speed, start-up, weight, and what a class costs the host.

    python bench/web.py [--checkpoint checkpoints/shakespeare-gpt] [--chars 1000] [--repeats 3] [--pages 32]

In one run, on one machine:
- one stream's chars/s: the page in headless Chromium (ONNX Runtime Web, WebAssembly, one
  thread) beside the server's decoding of the same text (`gpt.generate`, the ONNX step, one
  torch thread, as the app decodes one student's stream alone; no HTTP);
- opening the page to its first character: the load event, the model ready, then one
  character written, in a fresh browser context (cold: nothing cached) and on a reload
  (cached: the files revalidated, 304s);
- the page's weight, as files and as a static host sends them gzipped;
- what the serving machine spends while --pages pages open and each writes 200 characters:
  the static server's CPU seconds and bytes sent (a separate process; no model work there).
"""
from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import torch  # noqa: E402

import gpt  # noqa: E402
from bench.common import machine, median_time, table  # noqa: E402
from gpt import web  # noqa: E402
from pages import CHROMIUM  # noqa: E402

PROMPT = "ROMEO:\n"
WRITE = """async ([prompt, length, seed]) => {
    const run = await window.gptWeb.write(prompt, {settings: {temperature: 0.8, topK: null, topP: null},
                                                   length, seed: BigInt(seed), unknown: "error"});
    return run.charsPerSecond; }"""
FIRST_CHARACTER = """async () => {
    await window.gptWeb.ready;
    const ready = performance.now();
    await window.gptWeb.write("ROMEO:\\n", {settings: {temperature: 0}, length: 1, seed: 0n, unknown: "error"});
    const nav = performance.getEntriesByType("navigation")[0];
    return {load: nav.loadEventEnd, ready, first: performance.now()}; }"""


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def served(folder: Path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietFiles, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def server_stream(model, chars: int, repeats: int) -> float:
    torch.set_num_threads(1)

    def run():
        for _ in gpt.generate(model, PROMPT, chars, temperature=0.8, seed=0):
            pass
    run()                                           # builds the ONNX step once, as the app's warm-up does
    return chars / median_time(run, repeats)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def class_load(browser, folder: Path, pages: int) -> dict:
    """--pages fresh pages open the site served by a separate static server, and each writes."""
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory",
                               str(folder), "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()                  # "Serving HTTP on 127.0.0.1 port N (...)"
        url = f"http://127.0.0.1:{line.split(' port ')[1].split()[0]}/"
        before = cpu_seconds(server.pid)
        start = time.perf_counter()
        contexts = [browser.new_context() for _ in range(pages)]
        opened = [c.new_page() for c in contexts]
        sent = 0
        for page in opened:
            page.on("response", lambda r: None)
            page.goto(url, wait_until="commit")
        for page in opened:
            page.evaluate("async () => { await window.gptWeb.ready; window.gptWeb.write('ROMEO:\\n', "
                          "{settings: {temperature: 0.8}, length: 200, seed: 1n, unknown: 'error'})"
                          ".then(run => { window.done = run.text.length; }); }")
        for page in opened:
            page.wait_for_function("() => window.done === 200", timeout=600_000, polling=200)
        wall = time.perf_counter() - start
        cpu = cpu_seconds(server.pid) - before
        sent = sum(page.evaluate("() => performance.getEntriesByType('resource').concat("
                                 "performance.getEntriesByType('navigation')).reduce((s, e) => s + e.transferSize, 0)")
                   for page in opened)
        for c in contexts:
            c.close()
        return {"wall": wall, "cpu": cpu, "bytes": sent}
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", default="checkpoints/shakespeare-gpt")
    p.add_argument("--chars", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--pages", type=int, default=32)
    args = p.parse_args()
    from playwright.sync_api import sync_playwright

    model = gpt.load(args.checkpoint)
    folder = Path(tempfile.mkdtemp(prefix="web-bench-")) / "site"
    site = web.export(model, folder)
    server_cps = server_stream(model, args.chars, args.repeats)
    server, url = served(folder)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        cold, cached = [], []
        for _ in range(args.repeats):
            context = browser.new_context()
            page = context.new_page()
            page.goto(url)
            cold.append(page.evaluate(FIRST_CHARACTER))
            page.reload()
            cached.append(page.evaluate(FIRST_CHARACTER))
            context.close()
        page = browser.new_page()
        page.goto(url)
        page.evaluate("window.gptWeb.ready")
        page.evaluate(WRITE, [PROMPT, 200, 0])               # the WebAssembly code warmed once
        page_cps = sorted(page.evaluate(WRITE, [PROMPT, args.chars, 0]) for _ in range(args.repeats))[args.repeats // 2]
        page.close()
        load = class_load(browser, folder, args.pages) if args.pages else None
        browser.close()
    server.shutdown()

    def median_ms(runs, start, end):
        return sorted(r[end] - (r[start] if start else 0) for r in runs)[len(runs) // 2]

    print(f"# The static edition beside the server ({args.checkpoint}; {machine()}; Chromium headless, "
          f"ONNX Runtime Web 1 thread)\n")
    print(table(["one stream, " + f"{args.chars:,} chars, T=0.8", "chars/s", "vs the server"], [
        ["server: gpt.generate (ONNX step, 1 thread)", f"{server_cps:,.0f}", "1.00×"],
        ["page: in Chromium (WebAssembly, 1 thread)", f"{page_cps:,.0f}", f"{page_cps / server_cps:.2f}×"],
    ]))
    print()
    print(table(["opening the page (median ms)", "load event", "model ready", "first character",
                 "load → first character"], [
        [name, f"{median_ms(runs, None, 'load'):.0f}", f"{median_ms(runs, None, 'ready'):.0f}",
         f"{median_ms(runs, None, 'first'):.0f}", f"{median_ms(runs, 'load', 'first'):.0f}"]
        for name, runs in (("cold (new context)", cold), ("cached (reload)", cached))]))
    print()
    zipped = {name: len(gzip.compress((folder / name).read_bytes(), 6)) for name in site.files}
    heavy = sorted(site.files, key=site.files.get, reverse=True)[:3]
    print(table(["page weight", "files (MB)", "gzipped (MB)"],
                [[name, f"{site.files[name] / 1e6:.2f}", f"{zipped[name] / 1e6:.2f}"] for name in heavy]
                + [["the whole site", f"{site.total_bytes / 1e6:.2f}", f"{sum(zipped.values()) / 1e6:.2f}"]]))
    if load:
        print()
        print(table([f"{args.pages} pages open and write 200 chars each", "value"], [
            ["wall time until the last page has written", f"{load['wall']:.1f} s"],
            ["static server CPU (python -m http.server)", f"{load['cpu']:.2f} s ({load['cpu'] / args.pages * 1e3:.0f} ms a page)"],
            ["bytes sent (uncompressed; http.server does not gzip)", f"{load['bytes'] / 1e6:.1f} MB"],
        ]))


if __name__ == "__main__":
    main()
