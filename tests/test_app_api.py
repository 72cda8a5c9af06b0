"""The app through its public API, as gradio_client (or another program) would use it."""
import concurrent.futures
import json
import time

import pytest
from gradio_client import Client, handle_file

from appserver import launch_app

GEN = dict(api_name="/generate")


@pytest.fixture(scope="module")
def url():
    app, url = launch_app()
    yield url
    app.demo.close()


def generate_args(prompt="ROMEO:\n", model="shakespeare-gpt", length=300, temperature=0.8, top_k=0, top_p=1.0,
                  seed="0", unknown="replace"):
    return prompt, model, length, temperature, top_k, top_p, seed, unknown


def test_generate_streams_and_starts_with_the_prompt(url):
    job = Client(url, verbose=False).submit(*generate_args(length=600), **GEN)
    chunks = [out[0] for out in job]
    final = job.outputs()[-1][0]
    assert len(chunks) >= 3, "the text should arrive in several pieces"
    assert final.startswith("ROMEO:\n") and len(final) == len("ROMEO:\n") + 600
    assert all(final.startswith(chunk) for chunk in chunks if chunk)


def test_a_single_character_is_a_valid_length(url):
    text, note = Client(url, verbose=False).predict(*generate_args(length=1), **GEN)[:2]
    assert text.startswith("ROMEO:\n") and len(text) == len("ROMEO:\n") + 1


def test_an_empty_seed_is_a_new_random_seed(url):
    client = Client(url, verbose=False)
    texts = {client.predict(*generate_args(length=60, seed=""), **GEN)[0] for _ in range(3)}
    assert len(texts) == 3


def test_same_seed_same_text(url):
    client = Client(url, verbose=False)
    a = client.predict(*generate_args(length=80, seed="5"), **GEN)[0]
    b = client.predict(*generate_args(length=80, seed="5"), **GEN)[0]
    assert a == b


@pytest.mark.parametrize("args, message", [
    (generate_args(prompt="Roméo 🙂", unknown="error"), "'é', '🙂' are not in this model's 65-character"),
    (generate_args(prompt=""), "prompt is empty"),
    (generate_args(length=0), "less than minimum value 1"),          # Gradio's own slider check
    (generate_args(length=5000), "greater than maximum value 2000"),
    (generate_args(temperature=7), "greater than maximum value 2"),
    (generate_args(model="no-such-model"), "not in the list of choices"),
])
def test_bad_inputs_come_back_as_clear_errors(url, args, message):
    with pytest.raises(Exception) as err:
        Client(url, verbose=False).predict(*args, **GEN)
    assert message in str(err.value)
    assert "Traceback" not in str(err.value)


def test_unknown_characters_are_reported_and_replaced(url):
    text, note = Client(url, verbose=False).predict(*generate_args(prompt="Roméo", length=20), **GEN)[:2]
    assert text.startswith("Rom o") and "'é'" in note and "replaced" in note


def test_eight_concurrent_generations_all_complete(url):
    def one(seed):
        return Client(url, verbose=False).predict(*generate_args(length=200, seed=str(seed)), **GEN)[0]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, range(8)))
    assert all(r.startswith("ROMEO:\n") and len(r) == 207 for r in results)
    assert len(set(results)) == 8


def test_live_training_reports_falling_loss_and_belongs_to_its_session(url):
    client = Client(url, verbose=False)
    job = client.submit("shakespeare", None, "gpt", 2, 4, 64, 32, 0.5, 300, 6e-3, 32, 200, "adamw", api_name="/train")
    outputs = list(job)
    log = job.outputs()[-1][3]
    status = job.outputs()[-1][1]
    assert "Done" in status and "parameters" in status and "fixed sample of 4,096 characters" in status
    assert log["headers"] == ["step", "train", "val", "lr", "characters", "seconds"]
    vals = [row[2] for row in log["data"]]
    assert len(vals) >= 3 and vals[-1] < vals[0] - 1.0 and vals[-1] < 2.6
    assert len(outputs) > 3
    activations, ratios, gradients = job.outputs()[-1][4:7]     # the lecture's diagnostics, live
    assert all(figure_of(f)["type"] == "plotly" for f in (activations, ratios, gradients))
    # the run is this session's timeline: its last snapshot is the model as trained
    note, _, sample, *_ = client.predict("live", 16, 0, "head 1", 5, api_name="/timeline")
    assert "Your live GPT" in note and f"step {log['data'][-1][0]:,}" in note
    # the trained model is this session's: it generates here, and is unknown to a new session
    text = client.predict(*generate_args(model="yours", length=30), **GEN)[0]
    assert text.startswith("ROMEO:\n") and len(text) == 37
    # a second run, with Muon: its curve is drawn against seconds, the first run beside it
    job = client.submit("shakespeare", None, "gpt", 2, 4, 64, 32, 0.25, 60, 6e-3, 32, 200, "muon", api_name="/train")
    list(job)
    assert "Done" in job.outputs()[-1][1]
    curve = json.loads(figure_of(job.outputs()[-1][0])["plot"])
    assert {"your previous run (GPT, AdamW): val", "val"} <= {trace.get("name") for trace in curve["data"]}
    assert curve["layout"]["xaxis"]["title"]["text"] == "seconds of training"
    # the Lab measures the session's own model too (no precomputed grid: measured live)
    _, note = client.predict("yours", "To be, or not to be, that is the question.",
                             "none", api_name="/lab_surprisal")
    assert "bits per character" in note
    figure, note = client.predict("yours", "val", "",
                                  "zero", api_name="/lab_knockout")
    assert "1,024-character val passage" in note
    with pytest.raises(Exception, match="not trained a model yet"):
        Client(url, verbose=False).predict(*generate_args(model="yours"), **GEN)


def test_training_rejects_a_binary_upload(url, tmp_path):
    fake = tmp_path / "photo.txt"
    fake.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    with pytest.raises(Exception, match="not a text file"):
        Client(url, verbose=False).predict("upload", handle_file(str(fake)), "gpt", 2, 4, 64, 32, 0.5,
                                           100, 3e-3, 16, 200, api_name="/train")


def test_attention_endpoint_draws_the_prompt(url):
    figure, grid, note, words = Client(url, verbose=False).predict("shakespeare-gpt", "To be or not", 0, 32,
                                                                   "head 1", api_name="/attention")
    assert figure_of(figure)["type"] == "plotly" and "12 characters" in note
    # the map in words: one line a character, its strongest keys with the figure's own weights
    import gpt
    from gpt.introspect import attention_maps

    maps = attention_maps(gpt.load("checkpoints/shakespeare-gpt"), "To be or not", 32).maps[0][1]
    lines = words.splitlines()[1:]
    assert len(lines) == 12 and lines[0] == "1. `T` reads `T` 1.00"
    last = maps[11]
    strongest = int(last.argmax())
    assert lines[11].startswith("12. `t` reads ") and f"{last[strongest]:.2f}" in lines[11].split("reads ")[1][:20]
    figure, grid, note, words = Client(url, verbose=False).predict("shakespeare-bigram", "To be", 0, 32,
                                                                   "average of heads", api_name="/attention")
    assert figure_of(figure) is None and "no attention" in note and words == ""


# --- the Lab -----------------------------------------------------------------------------

VAL_LINE = "BAPTISTA:\nA thousand thanks, Signior Gremio.\nWelcome, good Cambio."


def figure_of(output):
    """A plot output: the figure itself, or inside an update that also sets its visibility."""
    return output.get("value") if output and "visible" in output else output


def test_lab_surprisal_colours_every_character_and_compares_models(url):
    client = Client(url, verbose=False)
    highlighted, note = client.predict("shakespeare-gpt", VAL_LINE, "none", api_name="/lab_surprisal")
    tokens = highlighted if isinstance(highlighted, list) else highlighted["value"]
    assert "".join(t["token"] for t in tokens) == VAL_LINE
    assert "bits per character" in note
    _, note = client.predict("shakespeare-gpt", VAL_LINE, "shakespeare-bigram", api_name="/lab_surprisal")
    assert "shakespeare-bigram" in note and "saves" in note


@pytest.mark.parametrize("args, message", [
    (("shakespeare-gpt", "", "none"), "at least two characters"),
    (("shakespeare-gpt", "Roméo", "none"), "'é' is not in this model's 65-character vocabulary"),
])
def test_lab_surprisal_refuses_bad_text_clearly(url, args, message):
    with pytest.raises(Exception) as err:
        Client(url, verbose=False).predict(*args, api_name="/lab_surprisal")
    assert message in str(err.value) and "Traceback" not in str(err.value)


def test_lab_knockout_lens_and_induction_draw_the_models_numbers(url):
    client = Client(url, verbose=False)
    figure, note = client.predict("shakespeare-gpt", "val", "", "zero",
                                  api_name="/lab_knockout")
    # the shipped GPT's most important head
    assert figure_of(figure)["type"] == "plotly" and "layer 0, head 4" in note
    figure, note = client.predict("shakespeare-gpt", "First Citizen:\nBefore we proceed", api_name="/lab_lens")
    assert figure_of(figure)["type"] == "plotly" and "top choice" in note
    table = client.predict("shakespeare-gpt", "First Citizen:\nBefore we proceed", 3, api_name="/lab_lens_position")
    assert "after block 6" in table and "embeddings" in table
    copies, heat, formation, note = client.predict("shakespeare-gpt", 60, 0, "random", api_name="/lab_induction")
    assert figure_of(copies)["type"] == "plotly" and "shakespeare-gpt" in note and "second copy" in note


def test_lab_instruments_that_need_heads_say_so_for_the_bigram(url):
    with pytest.raises(Exception, match="needs a GPT"):
        Client(url, verbose=False).predict("shakespeare-bigram", "text", VAL_LINE, "zero",
                                           api_name="/lab_knockout")


def test_lab_regenerates_without_the_chosen_heads(url):
    intact, knocked, note = Client(url, verbose=False).predict(
        "shakespeare-gpt", ["L0 H4", "L0 H3"], "ROMEO:\n", 120, 0, api_name="/lab_regenerate")
    assert intact.startswith("ROMEO:\n") and knocked.startswith("ROMEO:\n") and intact != knocked
    assert "L0 H4, L0 H3" in note


def test_lab_finds_memorised_spans(url):
    client = Client(url, verbose=False)
    line = "First Citizen:\nBefore we proceed any further, hear me speak."   # the corpus's first line
    highlighted, note = client.predict("shakespeare-gpt", "xq" + line + "qx", 20, api_name="/lab_memorised")
    assert "1 span(s)" in note and "line" in note
    with pytest.raises(Exception, match="less than minimum value 5"):     # Gradio checks the slider
        client.predict("shakespeare-gpt", line, 2, api_name="/lab_memorised")


def test_an_upload_with_thousands_of_characters_is_refused_and_the_server_lives_on(url, tmp_path):
    upload = tmp_path / "cjk.txt"
    upload.write_text("".join(chr(0x4E00 + i) for i in range(16_000)) * 4)
    client = Client(url, verbose=False)
    with pytest.raises(Exception, match="distinct characters"):
        client.predict("upload", handle_file(str(upload)), "gpt", 2, 4, 64, 32, 0.5, 100, 3e-3, 16, 200,
                       api_name="/train")
    assert client.predict(*generate_args(length=10), **GEN)[0].startswith("ROMEO:\n")


def test_the_timeline_answers_for_any_snapshot(url):
    import app

    client = Client(url, verbose=False)
    note, loss, sample, *_ = client.predict("shipped", 6, 1, "head 0", 10, api_name="/timeline")
    shipped = app.RESOURCES.shipped_timeline.get()
    step = shipped.steps[5]                                     # snapshots are numbered from 1, as on the slider
    assert f"Snapshot 6 of {len(shipped.steps)}: **step {step:,}**" in note
    assert sample == shipped.frame(step).sample
    with pytest.raises(Exception, match="Train a model in"):
        client.predict("live", 1, 0, "head 0", 10, api_name="/timeline")


def test_a_second_training_waits_in_line_and_is_told_its_place(url):
    args = ("names", None, "bigram", 2, 4, 64, 32, 0.25, 60, 0.1, 32, 200)
    first = Client(url, verbose=False).submit(*args, api_name="/train")
    deadline = time.time() + 60
    while time.time() < deadline and not any("Training a" in (out[1] or "") for out in first.outputs()):
        time.sleep(0.1)
    second = Client(url, verbose=False).submit(*args, api_name="/train")
    statuses = [out[1] for out in second]
    assert any("1 training ahead of you, about" in s for s in statuses), statuses[:3]
    assert "Done" in statuses[-1] and "Done" in first.outputs()[-1][1]


def test_a_refused_input_leaves_no_traceback_in_the_server_log(url, capfd):
    capfd.readouterr()
    with pytest.raises(Exception, match="prompt is empty"):
        Client(url, verbose=False).predict(*generate_args(prompt=""), **GEN)
    assert "Traceback" not in capfd.readouterr().err


def test_idle_sessions_are_forgotten_whole(url):
    """Gradio keeps every output's last value per session; the sweeper drops a session idle past the TTL."""
    import datetime

    import app
    from studio.sessions import forget_idle_sessions

    client = Client(url, verbose=False)
    client.predict(*generate_args(length=50), **GEN)
    holder = app.demo.state_holder
    assert client.session_hash in holder.session_data
    forget_idle_sessions(holder, ttl=3600)
    assert client.session_hash in holder.session_data          # used a moment ago: kept
    later = datetime.datetime.now() + datetime.timedelta(hours=2)
    assert forget_idle_sessions(holder, ttl=3600, now=later) >= 1
    assert client.session_hash not in holder.session_data


def trained_session(url):
    """A client whose session trained a 10-step bigram (its model is in the session's State)."""
    client = Client(url, verbose=False)
    outputs = client.predict("shakespeare", None, "bigram", 1, 1, 16, 8, 0.25, 10, 0.01, 16, 200, "adamw",
                             api_name="/train")
    assert "Done" in outputs[1], outputs[1]
    return client


def test_a_model_in_use_outlives_the_moment_it_was_set(url):
    """Gradio's State time_to_live counted from when the value was stored: a student's model and
    seat vanished GPT_APP_SESSION_TTL after they were set, while they were still using them. Now
    only the sweeper forgets a session, by its last use."""
    import datetime

    import gradio as gr

    import app

    states = [block for block in app.demo.blocks.values() if isinstance(block, gr.State)]
    assert states and all(state.time_to_live == float("inf") for state in states)    # Gradio's "never"
    client = trained_session(url)
    holder = app.demo.state_holder
    session = holder.session_data[client.session_hash]
    trained = app.PAGE.shared.trained._id
    assert session.state_data[trained] is not None and app.PAGE.shared.worth_keeping(session)
    long_ago = datetime.datetime.now() - datetime.timedelta(hours=5)
    session._state_ttl = {key: (ttl, long_ago) for key, (ttl, _) in session._state_ttl.items()}   # set 5 h ago
    holder.delete_all_expired_state()                                # Gradio's own expiry: nothing to expire
    from studio.sessions import forget_idle_sessions
    forget_idle_sessions(holder, ttl=1800)                           # used a moment ago: kept
    assert session.state_data[trained] is not None
    text, _ = client.predict(*generate_args(length=20, model="yours"), **GEN)
    assert len(text) >= 20                                           # the model still writes


def test_past_the_bound_idle_anonymous_sessions_go_before_any_holding_a_model(url):
    import datetime

    import app
    from studio.sessions import forget_idle_sessions

    holder = app.demo.state_holder
    keeper = trained_session(url)
    anonymous = []
    for _ in range(4):
        client = Client(url, verbose=False)
        client.predict(*generate_args(length=5), **GEN)
        anonymous.append(client.session_hash)
    # the student's session is the oldest of all
    holder.time_last_used[keeper.session_hash] = datetime.datetime.now() - datetime.timedelta(minutes=20)
    bound = len(holder.session_data) - 2
    assert forget_idle_sessions(holder, ttl=3600, max_sessions=bound, worth_keeping=app.PAGE.shared.worth_keeping) == 2
    assert keeper.session_hash in holder.session_data
    assert sum(sid in holder.session_data for sid in anonymous) >= 2
    assert len(holder.session_data) == bound


def board_handler(name):
    import app

    [fn] = [f.fn for f in app.demo.fns.values() if f.name == name]
    return fn


def asking(address):
    from types import SimpleNamespace

    return SimpleNamespace(headers={"x-forwarded-for": "203.0.113.9"}, client=SimpleNamespace(host=address))


def test_guessing_board_codes_is_slowed_per_address(url):
    import gradio as gr

    import app
    from studio import limits

    from studio.board_store import Rules

    code, _ = app.RESOURCES.boards.open_board(Rules())
    watch = board_handler("watch")
    guesser = asking("10.9.9.1")
    for i in range(limits.BOARD_MISSES.count):
        with pytest.raises(gr.Error, match="There is no board"):
            watch(f"GPT-ZZZ-Z{'ABCDEFGHJKLMNPQRSTUVWXYZ23456789'[i]}Z", guesser)
    with pytest.raises(gr.Error, match="Slow down: 30 board codes that were not found in 10 min"):
        watch(code, guesser)                                         # even a right code, once over the limit
    assert watch(code, asking("10.9.9.2"))                           # another address is not slowed
    # a header anyone can send does not decide who asks (not behind a proxy here)
    with pytest.raises(gr.Error, match="Slow down"):
        watch(code, asking("10.9.9.1"))


def test_one_client_cannot_take_every_seat_and_the_teacher_can_lock_and_remove(url):
    """The outside pass: one client took all 40 seats of a board in 2.4 s, on every board it liked."""
    import gradio as gr

    import app
    from studio import limits
    from studio.board_store import Rules

    boards = app.RESOURCES.boards
    (code, secret), (other, _) = boards.open_board(Rules()), boards.open_board(Rules())
    join = board_handler("join")
    flood = asking("10.8.8.1")
    for i in range(app.SETTINGS.board_seats):
        join(code, f"bot{i}", None, None, flood)
    with pytest.raises(gr.Error, match="is full"):
        join(code, "one more", None, None, flood)
    extra = limits.JOINS_PER_ADDRESS.count - app.SETTINGS.board_seats
    for i in range(extra):
        join(other, f"bot{i}", None, None, flood)
    with pytest.raises(gr.Error, match="Slow down: 45 seats taken from this address in 10 min"):
        join(other, "bot-next", None, None, flood)
    assert boards.snapshot(other).seats == extra
    join(other, "a real student", None, None, asking("10.8.8.2"))     # the class is not locked out
    # the teacher locks the full board, and frees seats for their students
    boards.lock(code, secret)
    for seat in boards.seats(code, secret)[:5]:
        boards.remove_seat(code, secret, seat.nickname)
    assert boards.snapshot(code).seats == app.SETTINGS.board_seats - 5 and boards.snapshot(code).locked


def test_a_refused_request_keeps_kilobytes_not_the_whole_page(url):
    """Gradio's SessionState wrote out all 372 blocks' configs on a session's first request
    (~575 kB, paid by every request under a new session id, refused or not: a script guessing
    board codes grew the server by gigabytes). A session now holds the configs it used, and a
    deep link, which reads them all, gets what Gradio's own constructor would have built."""
    import gradio.state_holder as state_holder
    import requests

    import app
    from ui.session_records import ORIGINAL_SESSION_STATE, LeanSessionState

    client = Client(url, verbose=False)
    with pytest.raises(Exception, match="prompt is empty"):
        client.predict(*generate_args(prompt=""), **GEN)
    session = app.demo.state_holder.session_data[client.session_hash]
    assert isinstance(session, LeanSessionState) and state_holder.SessionState is LeanSessionState
    page = len(app.demo.default_config.blocks)
    assert page > 300 and dict.__len__(session.config_values) <= 20      # the request's inputs and outputs
    # the deep link (every block's config, with this session's values) equals the eager build's
    eager = ORIGINAL_SESSION_STATE(app.demo)
    for key, config in dict(dict.items(session.config_values)).items():   # what the request changed
        eager.config_values[key] = config
    assert json.dumps(list(session.components), default=str) == json.dumps(list(eager.components), default=str)
    assert dict.__len__(session.config_values) == dict.__len__(eager.config_values)   # now all computed
    link = requests.get(f"{url}gradio_api/deep_link", params={"session_hash": client.session_hash}, timeout=30)
    assert link.status_code == 200 and link.json()


WRONG_KINDS = {"a list": [], "an object": {"a": 1}, "300 kB of text": "x" * 300_000}


def raw_call(url: str, endpoint: str, data: list) -> tuple[str, str]:
    """(event, payload) of the last message of one call over Gradio's HTTP API, as curl would send it."""
    import requests

    event = requests.post(f"{url}gradio_api/call{endpoint}", json={"data": data}, timeout=60).json()["event_id"]
    lines = requests.get(f"{url}gradio_api/call{endpoint}/{event}", timeout=120).text.splitlines()
    kind = [line[len("event: "):] for line in lines if line.startswith("event: ")][-1]
    payload = [line[len("data: "):] for line in lines if line.startswith("data: ")][-1]
    return kind, payload


def test_a_value_of_the_wrong_kind_is_refused_in_words_on_every_endpoint(url, capfd):
    """A list, an object or 300 kB of text sent for any setting of any endpoint: one line naming the
    setting, never Gradio's "Could not preprocess … Original error: TypeError", a component's memory
    address, the value echoed whole, or a traceback in the server's log (152 such replies on main)."""
    import requests

    capfd.readouterr()
    endpoints = requests.get(f"{url}gradio_api/info", timeout=30).json()["named_endpoints"]
    checked = 0
    for endpoint, info in endpoints.items():
        parameters = info["parameters"]
        defaults = [p.get("parameter_default") for p in parameters]
        for index, parameter in enumerate(parameters):
            if parameter["component"] in ("State", "Checkboxgroup") or parameter["python_type"]["type"] == "list[str]":
                continue                                   # a session's own value; a list is what it takes
            for kind, value in WRONG_KINDS.items():
                if kind == "300 kB of text" and parameter["component"] == "Textbox":
                    continue                               # text of any length is text: the handler measures it
                event, payload = raw_call(url, endpoint, defaults[:index] + [value] + defaults[index + 1:])
                message = json.loads(payload)["error"]
                assert event == "error", (endpoint, parameter["parameter_name"], kind)
                assert parameter["parameter_name"] in message and len(message) < 400, message
                assert "Original error" not in message and "0x" not in message and "\n" not in message, message
                checked += 1
    assert checked > 150
    short = raw_call(url, "/lab_knockout", ["shakespeare-gpt", "val"])[1]
    assert "takes 5 values" in short and "model_name" in short and "sent 2" in short, short
    assert "Traceback" not in capfd.readouterr().err
