"""A class on one server: concurrent clients against a running app, each answer compared with
the same request made alone (library-level versions: test_isolation.py)."""
import asyncio
import concurrent.futures
import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from gradio_client import Client, handle_file

from appserver import free_port, launch_app

MODEL = "shakespeare-gpt"
TEXT = "BAPTISTA:\nA thousand thanks, Signior Gremio.\nWelcome, good Cambio. But, gentle sir,"


@pytest.fixture(scope="module")
def url():
    app, url = launch_app()
    yield url
    app.demo.close()


def generation(temperature=0.0, seed="1", length=250, prompt="ROMEO:\n"):
    return dict(args=(prompt, MODEL, length, temperature, 0, 1.0, seed, "replace"), api_name="/generate")


REQUESTS = {
    "knockout on custom text": dict(args=(MODEL, "text", TEXT, "zero"),
                                    api_name="/lab_knockout"),
    "mean knockout on custom text": dict(args=(MODEL, "text", TEXT[:40], "mean"),
                                         api_name="/lab_knockout"),
    "regenerate without heads": dict(args=(MODEL, ["L0 H4", "L0 H3", "L1 H0"], "ROMEO:\n", 150, 0),
                                     api_name="/lab_regenerate"),
    "logit lens": dict(args=(MODEL, TEXT), api_name="/lab_lens"),
    "lens position": dict(args=(MODEL, TEXT, 12), api_name="/lab_lens_position"),
    "surprisal": dict(args=(MODEL, TEXT, "none"), api_name="/lab_surprisal"),
    "a character's features": dict(args=(TEXT, 30), api_name="/features_at"),
    "a feature added while writing": dict(args=("ROMEO:\n", 12, 20, 120, 3, "add"), api_name="/feature_steer"),
    "a feature held while writing": dict(args=("ROMEO:\n", 12, 20, 120, 3, "hold"), api_name="/feature_steer"),
    "a Timeline frame": dict(args=("shipped", 5, 1, "head 0", 10), api_name="/timeline"),
    "greedy generation": generation(),
    "seeded generation": generation(temperature=0.8, seed="7"),
}


def answer(url, request):
    out = Client(url, verbose=False).predict(*request["args"], api_name=request["api_name"])
    if request["api_name"] == "/generate":
        return out[0]                              # the text (the note may say how busy it was)
    if request["api_name"] == "/lab_knockout":
        return out[1]                              # the note names each measured number
    return out


def test_every_answer_is_the_one_it_gets_alone_while_others_knock_heads_out(url):
    """Two clients of each kind at once (24 in all), one model object: each answer equals the
    same request made alone. The old hooks failed this: generations broke ('The size of tensor
    a (6) must match...') or changed while a knockout or regeneration ran."""
    alone = {name: answer(url, request) for name, request in REQUESTS.items()}
    with concurrent.futures.ThreadPoolExecutor(2 * len(REQUESTS)) as pool:
        futures = [(name, pool.submit(answer, url, request)) for name, request in REQUESTS.items() for _ in range(2)]
        together = [(name, future.result(timeout=600)) for name, future in futures]
    for name, got in together:
        assert got == alone[name], name


def test_a_tiny_temperature_ends_no_one_elses_stream(url):
    """Temperature 1e-38 once overflowed to NaN and ended every stream of the batch; now it is
    the greedy limit, and the seeded streams beside it write what they write alone."""
    seeded = [generation(temperature=0.8, seed=str(k), length=600) for k in range(3)]
    alone = [answer(url, request) for request in seeded]
    tiny = generation(temperature=1e-38, length=600)
    greedy = answer(url, generation(temperature=0.0, length=600))
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(answer, url, request) for request in seeded + [tiny, tiny, tiny]]
        results = [future.result(timeout=300) for future in futures]
    assert results[:3] == alone
    assert results[3:] == [greedy] * 3


def test_two_students_attaching_the_same_file_both_train(url, tmp_path):
    """Gradio stores an upload by content and name: the same file from two students is one
    path, which the app once deleted after the first read."""
    upload = tmp_path / "teachers-corpus.txt"
    upload.write_text("To be, or not to be, that is the question:\nWhether 'tis nobler in the mind to suffer\n" * 60)
    args = ("upload", None, "bigram", 2, 4, 64, 32, 0.25, 20, 0.1, 32, 200)

    def train():
        client = Client(url, verbose=False)
        job = client.submit(args[0], handle_file(str(upload)), *args[2:], api_name="/train")
        return [out[1] for out in job][-1]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        statuses = list(pool.map(lambda _: train(), range(2)))
    assert all("Done" in s for s in statuses), statuses


def test_a_waiting_training_holds_no_corpus_and_no_model(monkeypatch):
    """While a training waits for its slot it has been checked and nothing else: the corpus is
    loaded, encoded and the model built only once the slot comes."""
    import torch

    from studio import live
    from studio.slots import TrainingSlots
    from studio.training import TrainRequest

    built = []
    monkeypatch.setattr(live, "build_training", lambda *a, **k: built.append(a) or pytest.fail("built while waiting"))
    slots = TrainingSlots(1, 30)
    holder = slots.join(60)
    assert slots.try_start(holder)
    request = TrainRequest(n_layer=2, n_head=4, n_embd=64, block_size=32, minutes=0.5, max_steps=100, lr=3e-3,
                           batch_size=16)

    async def first_update():
        updates = live.live_training(request, slots, torch.device("cpu"))
        try:
            return await updates.__anext__()
        finally:
            await updates.aclose()

    update = asyncio.run(first_update())
    assert update.phase == "waiting" and "Waiting for a training slot" in update.status and built == []
    assert update.model is None                       # the page keeps the session's last model
    slots.leave(holder)
    assert slots.ahead_of(None)[0] == 0               # the waiting one left the line when its page went


@pytest.mark.parametrize("args, api_name, message", [
    (("shakespeare-gpt", None, 0, 32, "head 1"), "/attention", "no text to draw"),
    ((MODEL, 60, 1e30, "random"), "/lab_induction", "The seed must be between 0 and"),
    ((MODEL, ["L0 H1"], "ROMEO:\n" * 2000, 100, 0), "/lab_regenerate", "at most 10,000 are taken"),
    ((MODEL, TEXT, 1e30), "/lab_lens_position", "The position must be between 0 and 4,000, not 1e+30"),
])
def test_odd_values_over_the_api_are_refused_in_words(url, args, api_name, message):
    with pytest.raises(Exception) as err:
        Client(url, verbose=False).predict(*args, api_name=api_name)
    assert message in str(err.value)
    for python_words in ("NoneType", "int() argument", "cannot convert", "Overflow", "Traceback"):
        assert python_words not in str(err.value)


def test_gradios_own_refusals_log_one_line_not_a_traceback(url, capfd):
    capfd.readouterr()
    with pytest.raises(Exception, match="greater than maximum value"):
        Client(url, verbose=False).predict(*generation(length=5000)["args"], api_name="/generate")
    assert "Traceback" not in capfd.readouterr().err


@contextlib.contextmanager
def app_process(**popen):
    """`python app.py` in a process of its own on a free port, serving: (process, address).
    Killed on the way out if it is still running."""
    with app_processes(1, **popen) as started:
        yield started[0]


@contextlib.contextmanager
def app_processes(count: int, as_each_serves=lambda server: None, **popen):
    """`count` processes of `python app.py`, started together (each start is mostly one core's
    imports), each on a free port: [(process, address)] once all of them serve.
    `as_each_serves(process)` is called the moment each first answers."""
    started = []
    try:
        ports: set[int] = set()
        while len(ports) < count:          # distinct: a port is free again once free_port has closed it
            ports.add(free_port())
        for port in sorted(ports):
            env = dict(os.environ, GRADIO_SERVER_PORT=str(port), GRADIO_SERVER_NAME="127.0.0.1")
            started.append((subprocess.Popen([sys.executable, "app.py"], cwd=Path(__file__).resolve().parents[1],
                                             env=env, stdout=subprocess.DEVNULL, **popen),
                            f"http://127.0.0.1:{port}/"))
        deadline, waiting = time.time() + 120, list(started)
        while waiting and time.time() < deadline:
            for server, address in list(waiting):
                try:
                    urllib.request.urlopen(address + "config", timeout=5)
                except OSError:
                    continue
                waiting.remove((server, address))
                as_each_serves(server)
            time.sleep(0.2 if waiting else 0)
        if waiting:
            pytest.fail("the app did not start")
        yield started
    finally:
        for server, _ in started:
            if server.poll() is None:
                server.kill()
                server.wait()


def test_sigterm_ends_streams_in_flight_with_a_message_then_the_server_closes():
    """A Space restarting sends SIGTERM: each student's text ends saying why, then the server
    closes by itself (exit 0)."""
    with app_process(stderr=subprocess.PIPE, text=True) as (server, address):
        client = Client(address, verbose=False)
        job = client.submit(*generation(temperature=0.8, length=2000)["args"], api_name="/generate")
        deadline = time.time() + 60
        while time.time() < deadline and not any(len(out[0] or "") > 40 for out in job.outputs()):
            time.sleep(0.05)
        server.send_signal(signal.SIGTERM)
        final = [out for out in job][-1]
        assert "server is restarting" in final[1] and len(final[0]) < len("ROMEO:\n") + 2000
        assert server.wait(timeout=60) == 0


def test_sigterm_closes_a_server_started_in_the_background_with_ctrl_c_ignored():
    """`nohup python app.py &` starts the app with SIGINT ignored; SIGTERM must still close it
    (it once waited forever: the close was a simulated Ctrl-C). Sent as soon as the server
    answers, while the warm-up is still inside torch or ONNX Runtime: the process used to abort
    ("terminate called without an active exception", exit -6) about one time in three, so two
    tries catch it more often than not. The two start together, each stopped as soon as it answers:
    one after the other they cost the suite 10 s more, near its 15 minutes."""
    with app_processes(2, lambda server: server.send_signal(signal.SIGTERM), stderr=subprocess.PIPE, text=True,
                       preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) as started:
        for server, _ in started:
            code = server.wait(timeout=60)
            err = server.stderr.read()
            assert code == 0 and "terminate called" not in err, err[-2000:]


@pytest.mark.parametrize("path", ["app.py", "../app.py", "/etc/passwd"])
def test_a_file_the_client_did_not_upload_is_refused_by_name_alone(url, path, capfd):
    import json

    capfd.readouterr()
    body = {"data": ["upload", {"path": path, "meta": {"_type": "gradio.FileData"}}, "gpt", 2, 4, 64, 32,
                     0.5, 100, 3e-3, 16, 200, "adamw"]}
    request = urllib.request.Request(url + "gradio_api/call/train", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    event = json.loads(urllib.request.urlopen(request, timeout=30).read())["event_id"]
    reply = urllib.request.urlopen(url + f"gradio_api/call/train/{event}", timeout=60).read().decode()
    name = path.rsplit("/", 1)[-1]
    assert f"'{name}' was not uploaded through this page" in reply
    assert "/work" not in reply and "/etc" not in reply and str(__import__("pathlib").Path.cwd()) not in reply
    assert "Traceback" not in capfd.readouterr().err


def test_the_gradio_patches_fail_loudly_when_what_they_patch_is_gone(monkeypatch):
    from gradio import processing_utils

    from ui import refusals

    monkeypatch.delattr(processing_utils, "_check_allowed")
    with pytest.raises(RuntimeError, match="_check_allowed is gone"):
        refusals.plain_path_refusals()


def test_gradios_session_records_are_where_the_app_reads_them_or_it_will_not_start(monkeypatch):
    """ui/session_records.py builds Gradio's SessionState its own way and the sweeper reads its
    StateHolder: on the pinned Gradio nothing has moved; if the constructor gains a field, or the
    holder stops building sessions by that name, the app stops at start-up saying so."""
    import gradio.state_holder as state_holder

    from ui import session_records

    assert session_records.moved() == []

    def changed(self, blocks):
        self.blocks_config, self.config_values, self.state_data, self.new_field = None, {}, {}, 1

    monkeypatch.setattr(session_records, "ORIGINAL_SESSION_STATE", type("Moved", (), {"__init__": changed}))
    assert "SessionState.__init__" in session_records.moved()
    monkeypatch.setattr(state_holder.StateHolder, "__getitem__", lambda self, session_id: None)
    with pytest.raises(SystemExit, match="StateHolder.__getitem__"):
        session_records.adopt()


def lab_switch(name: str, open_tab: str = "lab", part: str = "knockout", memo: str = "") -> dict:
    """The Lab's part of a model switch, with the page's default inputs (and `memo` typed)."""
    import app

    return app.PAGE.lab.switched(name, open_tab, part, {("memorised", "text"): memo})


def by_label(page: dict) -> dict:
    return {getattr(component, "label", None): value for component, value in page.items()}


def test_opening_the_lab_keeps_the_text_typed_in_memorisation():
    typed = "First Citizen:\nBefore we proceed any further, hear me speak."
    page = lab_switch(MODEL, part="memorised", memo=typed)
    assert "Text (empty: the last generation)" not in by_label(page)          # the box is left alone
    spans = by_label(page)["Spans found in the training text"]
    assert "".join(span for span, _ in spans) == typed
    assert any("1 span(s)" in str(value) for value in page.values())


@pytest.mark.parametrize("switches", [[MODEL], ["copying-gpt", MODEL], [MODEL, "copying-gpt", MODEL]])
def test_after_model_switches_with_the_lab_open_ticked_noted_and_removed_heads_agree(switches):
    """The boxes ticked, the heads the note names and the heads removed from the regenerated
    text are one set (two listeners once raced: boxes empty, note 'L0 H4')."""
    import app
    from studio import lab as lab_views
    from studio.lab_opening import DEFAULT_PROMPT, OPENING_SAMPLE_CHARS

    heads = app.PAGE.lab.drawings["knockout"].views["heads"]
    for name in switches:
        page = lab_switch(name)
    ticked = value_of(page[heads])
    knocked, intact = by_label(page)["With the heads removed"], by_label(page)["Intact model"]
    regen_note = next(v for v in page.values() if isinstance(v, str) and v.startswith("Heads removed:"))
    assert len(ticked) == 1 and f"Heads removed: {ticked[0]}." in regen_note
    _, expected, _ = lab_views.regenerate_view(app.RESOURCES.zoo.get(switches[-1]), ticked, DEFAULT_PROMPT,
                                               OPENING_SAMPLE_CHARS, 0)
    assert knocked == expected and intact != knocked


def test_a_model_switch_measures_only_the_instrument_on_screen_and_clears_the_rest():
    """No figure shows the last model: the instrument on screen is measured for the new one, the
    others are cleared (measured when opened), and the head boxes follow the model."""
    import app

    heads = app.PAGE.lab.drawings["knockout"].views["heads"]
    page = lab_switch("copying-gpt", part="surprisal")
    labels = by_label(page)
    assert len(labels["Surprisal per character (click one)"]) > 100                      # measured
    assert labels["With the heads removed"] == "" and labels["Spans found in the training text"] == []
    assert value_of(page[heads]) == [] and len(page[heads].choices) == 2 * 4               # copying-gpt: 2 x 4 heads
    closed = lab_switch(MODEL, open_tab="generate", part="surprisal")     # the Lab closed: nothing measured
    assert by_label(closed)["Surprisal per character (click one)"] == []
    assert value_of(closed[heads]) == [] and len(closed[heads].choices) == 36


def value_of(update):
    """The value a handler sets: a component returned as an update, or a plain value."""
    return update.value if hasattr(update, "value") else update


def test_one_listener_per_trigger_for_the_model_list_and_the_tab_bar():
    """Several listeners on one trigger run in no set order (they raced); each trigger has one."""
    import app

    triggers = [(target, event) for dep in app.demo.config["dependencies"] for target, event in dep["targets"]]
    assert triggers.count((app.PAGE.shared.model._id, "change")) == 1
    assert triggers.count((app.PAGE.shared.tabs._id, "select")) == 1
    assert all(triggers.count((tab._id, "select")) == 0 for tab in app.PAGE.shared.tabs.children)


def test_a_model_switch_draws_the_open_tab_now_and_a_hidden_tab_when_it_is_opened():
    """The other tabs are marked stale, not drawn; opening one draws it for the new model."""
    import types

    import app

    shared = app.PAGE.shared
    fns = list(app.demo.fns.values())

    def listener_on(component, event):
        [fn] = [f for f in fns if (component._id, event) in [(t[0], t[1]) for t in f.targets]]
        return fn

    def values(fn, **given):
        return [given.get(str(c._id), getattr(c, "value", None)) for c in fn.inputs]

    switch = listener_on(shared.model, "input")
    stale_at = [c._id for c in switch.inputs].index(shared.stale_tabs._id)
    args = values(switch)
    args[0], args[stale_at] = "generate", frozenset()
    args[[c._id for c in switch.inputs].index(shared.model._id)] = "copying-gpt"
    updates = list(switch.fn(*args))
    stale = next(u[shared.stale_tabs] for u in updates if shared.stale_tabs in u)
    assert {"attention", "lab", "loss"} <= stale
    drawn = {c for u in updates for c in u}
    assert drawn <= {shared.stale_tabs, shared.drawn_model, shared.model_info}, \
        "only the model note is drawn with Generate open"
    assert next(u[shared.drawn_model] for u in updates if shared.drawn_model in u) == "copying-gpt"

    # the same model again (Gradio's Dropdown sends `input` at every blur): nothing is drawn
    args[[c._id for c in switch.inputs].index(shared.drawn_model._id)] = "copying-gpt"
    again = list(switch.fn(*args))
    assert len(again) == 1 and list(again[0]) == [shared.drawn_model], again

    opened = listener_on(shared.tabs, "select")
    args = values(opened)
    ids = [c._id for c in opened.inputs]
    args[ids.index(shared.stale_tabs._id)] = stale
    args[ids.index(shared.model._id)] = "copying-gpt"
    label = next(k for k, v in shared._tab_ids.items() if v == "loss")
    out = list(opened.fn(types.SimpleNamespace(value=label), *args))
    assert out[0] == {shared.open_tab: "loss"}
    assert any(u.get(shared.stale_tabs) == stale - {"loss"} for u in out)
    assert len(out) >= 3, "the loss tab's part was drawn on opening"
