"""The class board: its store (bounds, who may write, concurrency, restart, expiry) and its views."""
from __future__ import annotations

import json
import multiprocessing
import sqlite3
import threading

import plotly.io as pio
import pytest
import torch
import torch.nn.functional as F

from studio.board_store import (MAX_NICKNAME, MAX_POINTS_PER_RUN, MAX_RUNS_PER_SEAT, Rules, Seat, SQLiteBoards,
                                board_code, nickname)
from studio.class_board import (BoardPosting, board_view, check_rules, differing_settings, isolated, run_settings,
                                whole_val_loss)
from studio.errors import InputError
from studio.training import TrainRequest


@pytest.fixture
def store(tmp_path):
    return SQLiteBoards(tmp_path / "boards.sqlite3", max_seats=40)


def test_codes_are_read_as_typed_and_others_refused():
    assert board_code("gpt-7q2-k9x") == board_code(" GPT 7Q2 K9X ") == board_code("7q2k9x") == "GPT-7Q2-K9X"
    for bad in ["", "GPT-7Q2", "GPT-7Q2-K9", "GPT-0O1-K9X", "<script>", "x" * 10_000, None, 42,
                "GPT-7Q2-K9X'; DROP TABLE boards"]:
        with pytest.raises(InputError):
            board_code(bad)


def test_nicknames_are_bounded_and_cleaned():
    assert nickname("  Ada   Lovelace ") == "Ada Lovelace"
    assert nickname("<script>alert(1)</script>"[:MAX_NICKNAME]) == "<script>alert(1)</script"[:MAX_NICKNAME]
    assert nickname("👩‍🏫 Ms K") == "👩‍🏫 Ms K"                          # the joiner of the emoji is kept
    assert nickname("\u202eevil\u202c") == "evil"                       # a direction override is removed
    assert nickname("سارة") == "سارة"                                    # right-to-left letters are kept
    assert nickname("a\x00b\nc") == "abc"
    for bad in ["", "   ", "\u202e", "x" * (MAX_NICKNAME + 1), "x" * 10_000, None]:
        with pytest.raises(InputError):
            nickname(bad)


def test_look_alike_and_invisible_nicknames_are_refused_as_the_same_name(store):
    """The outside pass's 28 tries: 21 were taken as new names beside Alice."""
    code, _ = store.open_board(Rules())
    store.join(code, "Alice")
    for twin in ["Alice\u200d", "Alice\u034f", "Alice\ufe0f", "Alice\u3164", "Alice\u2800", "\u0410lice",
                 "ALICE", "Alicé", "Ａｌｉｃｅ", "A\u200blice", "Al\u0456ce"]:
        with pytest.raises(InputError, match="already has that nickname"):
            store.join(code, twin)
    for blank in ["\u3164", "\u2800", "\u200d\u200d", "\u034f", "\u115f\u1160", " \u0301 "]:
        with pytest.raises(InputError, match="Choose a nickname"):
            store.join(code, blank)
    assert store.join(code, "👩\u200d🏫 Ms K").nickname == "👩\u200d🏫 Ms K"   # an emoji keeps its joiner
    assert store.join(code, "Alicia").nickname == "Alicia"                   # a different name still joins
    assert nickname("Bob\u200d") == "Bob" and nickname("❤\ufe0f Bo") == "❤\ufe0f Bo"


def test_a_seat_token_gives_the_seat_back_after_a_reload_or_a_restart(tmp_path):
    path = tmp_path / "boards.sqlite3"
    store = SQLiteBoards(path)
    code, _ = store.open_board(Rules())
    ada = store.join(code, "Ada")
    run = store.start_run(ada, {"model": "bigram"})
    restarted = SQLiteBoards(path)                                   # a new process on the same file
    assert restarted.seat(code, ada.token) == ada
    assert restarted.seat(code, "forged") is None and restarted.seat("GPT-ZZZ-ZZZ", ada.token) is None
    assert restarted.join(code, "ada", token=ada.token) == ada       # the nickname reclaimed with its token
    with pytest.raises(InputError, match="already has that nickname"):
        restarted.join(code, "Ada", token="another page's token")
    assert restarted.snapshot(code).seats == 1                       # no second seat taken
    # the run the dead server was training is stopped at start-up, not "training…" forever
    assert restarted.stop_orphaned_runs() == 1
    [record] = restarted.snapshot(code).runs
    assert record.id == run and record.stopped and record.finished is not None
    assert restarted.stop_orphaned_runs() == 0


def test_the_teacher_sees_removes_and_locks_seats(store):
    code, secret = store.open_board(Rules())
    bots = [store.join(code, f"bot{i}") for i in range(3)]
    store.start_run(bots[0], {})
    seen = store.seats(code, secret)
    assert [s.nickname for s in seen] == ["bot0", "bot1", "bot2"] and [s.runs for s in seen] == [1, 0, 0]
    for act in (lambda: store.seats(code, "x"), lambda: store.remove_seat(code, "x", "bot0"),
                lambda: store.lock(code, "x")):
        with pytest.raises(InputError, match="Only the teacher"):
            act()
    store.remove_seat(code, secret, "bot0")
    assert store.snapshot(code).seats == 2 and store.snapshot(code).runs == []
    with pytest.raises(InputError, match="is gone"):
        store.start_run(bots[0], {})
    with pytest.raises(InputError, match="Nobody on this board"):
        store.remove_seat(code, secret, "bot0")
    store.lock(code, secret)
    with pytest.raises(InputError, match="locked"):
        store.join(code, "latecomer")
    assert store.snapshot(code).locked
    assert store.start_run(bots[1], {}) > 0                          # the seated keep training
    assert store.join(code, "bot1", token=bots[1].token) == bots[1]  # and keep their seat
    store.lock(code, secret, False)
    store.join(code, "latecomer")


def test_a_loss_that_is_not_a_number_is_refused_in_words(store):
    code, _ = store.open_board(Rules())
    seat = store.join(code, "nan")
    run = store.start_run(seat, {})
    for bad in (float("nan"), float("inf"), "1.0", None):
        with pytest.raises(InputError, match="finite number"):
            store.add_point(seat, run, 1, 1.0, bad)
    with pytest.raises(InputError, match="finite number"):
        store.finish_run(seat, run, float("nan"), 1, "")


def test_one_address_holds_a_few_boards_and_the_server_a_bounded_number(store, monkeypatch):
    import studio.board_store as board_store

    opened = [store.open_board(Rules(), opener="a", per_opener=3) for _ in range(3)]
    with pytest.raises(InputError, match="has 3 boards open already"):
        store.open_board(Rules(), opener="a", per_opener=3)
    store.close(*opened[0])                                          # a closed board frees its place
    store.open_board(Rules(), opener="a", per_opener=3)
    store.open_board(Rules(), opener="b", per_opener=3)               # another teacher is not locked out
    monkeypatch.setattr(board_store, "MAX_OPEN_BOARDS", 4)
    with pytest.raises(InputError, match="Too many boards"):
        store.open_board(Rules(), opener="c", per_opener=3)


def test_a_file_from_before_the_lock_column_is_brought_up_to_date(tmp_path):
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("CREATE TABLE boards (code TEXT PRIMARY KEY, teacher_digest TEXT NOT NULL, rules TEXT NOT NULL,"
                      " created REAL NOT NULL, expires REAL NOT NULL, closed INTEGER NOT NULL DEFAULT 0,"
                      " max_seats INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 0);")
    old.close()
    store = SQLiteBoards(path)
    code, secret = store.open_board(Rules())
    store.lock(code, secret)
    assert store.snapshot(code).locked


def test_students_join_post_and_cannot_write_as_another(store):
    code, secret = store.open_board(Rules(minutes=0.25, model_type="gpt"))
    ada = store.join(code.lower(), "Ada")
    bob = store.join(code, "Bob")
    with pytest.raises(InputError, match="already has that nickname"):
        store.join(code, "  ADA ")
    run = store.start_run(ada, {"model": "gpt", "lr": 0.006})
    store.add_point(ada, run, 10, 2.0, 3.1)
    store.add_point(ada, run, 20, 4.0, 2.7)
    with pytest.raises(InputError, match="not yours"):
        store.add_point(bob, run, 30, 6.0, 0.1)
    with pytest.raises(InputError, match="not yours"):
        store.finish_run(bob, run, 0.01, 30, "fake")
    forged = Seat(code, "Ada", "guessed-token")
    with pytest.raises(InputError):
        store.start_run(forged, {})
    store.finish_run(ada, run, 2.5, 20, "ROMEO: hi")
    snap = store.snapshot(code)
    assert snap.seats == 2 and snap.rules == Rules(minutes=0.25, model_type="gpt")
    [record] = snap.runs
    assert record.nickname == "Ada" and record.final_val == 2.5 and record.points == [(10, 2.0, 3.1), (20, 4.0, 2.7)]


def test_only_the_teacher_closes_and_a_closed_or_full_board_refuses(tmp_path):
    store = SQLiteBoards(tmp_path / "b.sqlite3", max_seats=2)
    code, secret = store.open_board(Rules())
    a = store.join(code, "a")
    store.join(code, "b")
    with pytest.raises(InputError, match="full"):
        store.join(code, "c")
    with pytest.raises(InputError, match="Only the teacher"):
        store.close(code, "not the secret")
    with pytest.raises(InputError, match="Only the teacher"):
        store.close(code, None)
    assert store.is_teacher(code, secret) and not store.is_teacher(code, secret + "x")
    store.close(code, secret)
    with pytest.raises(InputError, match="closed"):
        store.start_run(a, {})
    assert store.snapshot(code).closed
    with pytest.raises(InputError, match="no board"):
        store.join("GPT-ZZZ-ZZZ" if code != "GPT-ZZZ-ZZZ" else "GPT-YYY-YYY", "x")


def test_runs_and_points_are_bounded(store):
    code, _ = store.open_board(Rules())
    seat = store.join(code, "busy")
    runs = [store.start_run(seat, {}) for _ in range(MAX_RUNS_PER_SEAT)]
    with pytest.raises(InputError, match="most per student"):
        store.start_run(seat, {})
    for step in range(MAX_POINTS_PER_RUN + 5):
        store.add_point(seat, runs[0], step, step, 1.0)
    assert len(store.snapshot(code).runs[0].points) == MAX_POINTS_PER_RUN
    store.finish_run(seat, runs[0], 1.0, 10, "x" * 10_000)
    assert len(store.snapshot(code).runs[0].sample) == 400


def test_thirty_writers_at_once_lose_nothing(store):
    code, _ = store.open_board(Rules())
    seats = [store.join(code, f"student {i}") for i in range(30)]
    barrier = threading.Barrier(30)
    errors = []

    def student(seat: Seat) -> None:
        try:
            barrier.wait()
            run = store.start_run(seat, {"model": "gpt"})
            for step in range(20):
                store.add_point(seat, run, step, step * 0.5, 4.0 - step * 0.1)
            store.finish_run(seat, run, 2.0, 20, "sample")
        except Exception as e:            # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=student, args=(seat,)) for seat in seats]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    snap = store.snapshot(code)
    assert len(snap.runs) == 30 and all(len(run.points) == 20 and run.final_val == 2.0 for run in snap.runs)
    assert {run.nickname for run in snap.runs} == {f"student {i}" for i in range(30)}
    assert snap.version == 30 + 30 * (1 + 20 + 1)          # every write was counted once


def _process_student(path: str, code: str, name: str) -> None:
    store = SQLiteBoards(path)
    seat = store.join(code, name)
    run = store.start_run(seat, {})
    for step in range(10):
        store.add_point(seat, run, step, step, 1.0)
    store.finish_run(seat, run, 1.0, 10, "")


def test_processes_share_one_file_and_a_restart_keeps_the_board(tmp_path):
    path = tmp_path / "boards.sqlite3"
    code, secret = SQLiteBoards(path).open_board(Rules(corpus="names"))
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_process_student, args=(str(path), code, f"p{i}")) for i in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0] * 4
    reopened = SQLiteBoards(path)                           # a new server process: the same board
    snap = reopened.snapshot(code)
    assert len(snap.runs) == 4 and all(len(r.points) == 10 for r in snap.runs)
    assert snap.rules.corpus == "names" and reopened.is_teacher(code, secret)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        digests = [row[0] for row in db.execute("SELECT digest FROM seats")]
        assert secret not in json.dumps(db.execute("SELECT * FROM boards").fetchall())   # secrets stored hashed
        assert all(len(d) == 64 for d in digests)


def test_boards_expire(tmp_path):
    now = [1000.0]
    store = SQLiteBoards(tmp_path / "b.sqlite3", ttl=60, clock=lambda: now[0])
    code, _ = store.open_board(Rules())
    store.join(code, "early")
    now[0] += 61
    assert store.version(code) is None
    with pytest.raises(InputError, match="no board"):
        store.join(code, "late")
    store.open_board(Rules())                               # opening a board clears the expired ones
    with sqlite3.connect(tmp_path / "b.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM boards WHERE code = ?", (code,)).fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM seats").fetchone()[0] == 0


def test_race_rules_refuse_other_settings():
    race = Rules(corpus="shakespeare", minutes=0.25, model_type="gpt")
    check_rules(race, TrainRequest(minutes=0.25))
    for request, words in [(TrainRequest(minutes=1.0), "race of 0.25 min"),
                           (TrainRequest(minutes=0.25, model_type="mlp"), "for the GPT"),
                           (TrainRequest(minutes=0.25, corpus="names"), "learn Tiny Shakespeare")]:
        with pytest.raises(InputError, match=words):
            check_rules(race, request)
    check_rules(Rules(), TrainRequest(minutes=3.0, model_type="bigram"))     # an open board fixes only the corpus


def test_leaderboard_ranks_by_whole_val_and_shows_what_differs(store):
    code, _ = store.open_board(Rules())
    posted = {"slow": (TrainRequest(lr=1e-3), 2.4), "fast": (TrainRequest(lr=6e-3), 1.9),
              "<b>bold</b>": (TrainRequest(lr=3e-3), None)}
    for name, (request, final) in posted.items():
        seat = store.join(code, name)
        run = store.start_run(seat, run_settings(request))
        store.add_point(seat, run, 10, 5.0, 3.0)
        if final is not None:
            store.finish_run(seat, run, final, 100, f"sample of {name}")
    view = board_view(store.snapshot(code))
    assert [row[1] for row in view.rows] == [isolated("fast"), isolated("slow"), isolated("<b>bold</b>")]
    assert view.rows[0][0] == "1" and view.rows[2][0] == "" and view.rows[2][2] == "training… 3.000"
    assert view.headers[-1] == "lr" and [row[-1] for row in view.rows] == ["0.006", "0.001", "0.003"]
    assert differing_settings(store.snapshot(code).runs) == ["lr"]
    assert "layers 2" in view.headline and "<b>" not in view.headline
    assert view.samples.startswith(f"1. {isolated('fast')} (val 1.900):\nsample of fast")
    names = [trace.name for trace in view.figure.data]
    assert "&lt;b&gt;bold&lt;/b&gt;" in names[2] and "<b>" not in pio.to_json(view.figure)


def test_a_posting_run_reaches_the_board_with_its_whole_val_loss(store, tiny_gpt, shakespeare):
    code, _ = store.open_board(Rules(minutes=1.0))
    seat = store.join(code, "tiny")
    with pytest.raises(InputError, match="race of 1 min"):
        BoardPosting(store, seat, TrainRequest(minutes=0.5))
    posting = BoardPosting(store, seat, TrainRequest(minutes=1.0))
    tiny_gpt.run.corpus = "shakespeare"
    posting.saw(tiny_gpt)
    loss = posting.finish(tiny_gpt)
    # the whole val split, computed here without the library's evaluation loop
    ids = shakespeare.dataset(32).splits["val"]
    windows = (len(ids) - 1) // 32
    x, y = ids[: windows * 32].view(windows, 32), ids[1: windows * 32 + 1].view(windows, 32)
    with torch.no_grad():
        expected = F.cross_entropy(tiny_gpt(x)[0].flatten(0, 1), y.flatten()).item()
    assert loss == pytest.approx(expected, rel=1e-4) and loss == pytest.approx(whole_val_loss(tiny_gpt, "shakespeare"))
    [run] = store.snapshot(code).runs
    assert run.final_val == pytest.approx(expected, rel=1e-4)
    assert len(run.points) == len(tiny_gpt.history) and run.sample and run.steps == tiny_gpt.run.step
    posting.stopped(tiny_gpt)                               # after finishing, a stop changes nothing
    assert store.snapshot(code).runs[0].final_val == run.final_val


def test_the_boards_settings_are_read_and_checked(monkeypatch, tmp_path):
    from studio import settings as S

    monkeypatch.setenv("GPT_APP_DATA", str(tmp_path))
    monkeypatch.setenv("GPT_APP_BOARD_HOURS", "2")
    monkeypatch.setenv("GPT_APP_BOARD_SEATS", "35")
    monkeypatch.setenv("SYSTEM", "spaces")
    monkeypatch.setenv("SPACE_ID", "teacher/tinyshakespeare-gpt")
    read = S.Settings.from_env()
    assert (read.data_dir, read.board_hours, read.board_seats) == (str(tmp_path), 2.0, 35)
    assert read.source_url == "https://huggingface.co/spaces/teacher/tinyshakespeare-gpt/blob/main"
    monkeypatch.setenv("GPT_APP_SOURCE_URL", "https://github.com/someone/tinyshakespeare-gpt/blob/main")
    assert S.Settings.from_env().source_url == "https://github.com/someone/tinyshakespeare-gpt/blob/main"
    for name, bad in [("GPT_APP_SOURCE_URL", "javascript:alert(1)"), ("GPT_APP_BOARD_SEATS", "0"),
                      ("GPT_APP_BOARD_HOURS", "nan")]:
        monkeypatch.setenv(name, bad)
        with pytest.raises(SystemExit, match=name):
            S.Settings.from_env()
        monkeypatch.delenv(name)
    monkeypatch.delenv("GPT_APP_DATA")
    assert S.Settings.from_env().data_dir == S.data_folder()


def test_limits_count_in_a_sliding_window_per_key_and_say_when_to_come_back():
    from studio.limits import Limit, RateLimiter, client_key

    now = [1000.0]
    limiter = RateLimiter(clock=lambda: now[0])
    limit = Limit("guesses", 3, 60)
    for _ in range(3):
        limiter.take(limit, "a")
    with pytest.raises(InputError, match="Slow down: 3 guesses in 1 min .* try again in 60 s"):
        limiter.take(limit, "a")
    limiter.take(limit, "b")                              # another address has its own count
    now[0] += 30
    with pytest.raises(InputError, match="try again in 30 s"):
        limiter.check(limit, "a")
    now[0] += 31
    limiter.take(limit, "a")                              # the first events left the window
    # a header anyone can send decides nothing, except behind a proxy that sets it
    assert client_key({"x-forwarded-for": "1.2.3.4"}, "10.0.0.1", False) == client_key({}, "10.0.0.1", False)
    assert client_key({"x-forwarded-for": "1.2.3.4, 10.0.0.1"}, "10.0.0.1", True) == client_key({}, "1.2.3.4", False)
    assert len(client_key({}, "10.0.0.1", False)) == 16 and "10.0.0.1" not in client_key({}, "10.0.0.1", False)


def test_a_boards_view_is_built_once_per_change_and_curves_are_thinned(store, monkeypatch):
    import studio.class_board as class_board
    from studio.class_board import CURVE_POINTS, BoardViews, thinned

    code, _ = store.open_board(Rules())
    seat = store.join(code, "ada")
    run = store.start_run(seat, {"model": "bigram"})
    for step in range(MAX_POINTS_PER_RUN):
        store.add_point(seat, run, step, step * 0.1, 4.0 - step / 1000)
    built = []
    monkeypatch.setattr(class_board, "board_view", lambda snap: built.append(snap.version) or board_view(snap))
    views = BoardViews(store)
    first = [views.get(code) for _ in range(30)]                 # thirty pages on one board
    assert len(built) == 1 and all(v is first[0][1] for _, v in first)
    store.finish_run(seat, run, 3.5, MAX_POINTS_PER_RUN, "sample")
    version, view = views.get(code)
    assert len(built) == 2 and version == store.version(code)
    [trace] = view.figure.data
    assert len(trace.x) == CURVE_POINTS and trace.x[0] == 0.0 and trace.y[-1] == pytest.approx(4.0 - 499 / 1000)
    points = [(i, i, i) for i in range(1000)]
    assert thinned(points)[0] == points[0] and thinned(points)[-1] == points[-1] and len(thinned(points)) == 60
    with pytest.raises(InputError, match="no board"):
        views.get("GPT-ZZZ-ZZZ")
