"""Where a class board keeps its runs: one small interface (`BoardStore`) and its SQLite form.

A teacher opens a board and holds its secret; students join it with a nickname and get a seat
token of their own; each live training a student starts posts its settings, its val-loss points
as it learns, and its final loss and sample. Only the two secrets prove who writes: a seat token
writes that student's runs and nothing else, the teacher's secret closes the board. Both are
stored as SHA-256 digests, so the database alone lets no one write as anyone.

SQLite in WAL mode: readers never wait for the writer, writers (every student's run) take turns
inside short `BEGIN IMMEDIATE` transactions, and several processes may share one file. Every
change bumps the board's `version`, so a page showing the board asks one integer to know whether
there is anything new to draw. Boards expire `ttl` seconds after they open; expired boards are
deleted (with their seats, runs and points) when the next board opens.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
import math
import re
import secrets
import sqlite3
import threading
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from confusable_homoglyphs import confusables

from .errors import InputError

CODE_PREFIX = "GPT-"
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"     # no I, O, 0 or 1: read off a projector without doubt
CODE_LENGTH = 6
"""32^6 ≈ 1.07 billion codes, typed as GPT-7Q2-K9X: with guesses limited per address (studio/limits.py),
finding someone's board by guessing takes years, where 32^3 took half an hour."""
CODE_PATTERN = re.compile(r"^GPT-[A-HJ-NP-Z2-9]{3}-[A-HJ-NP-Z2-9]{3}$")
MAX_NICKNAME = 24
"""Characters of a nickname (after trimming): enough for a first name and an emoji."""
MAX_RAW_INPUT = 200
"""A nickname or board code longer than this is refused before it is looked at."""
MAX_OPEN_BOARDS = 16_384
"""Boards open on one server at once (a teacher past it is told to try later); each address may
hold only a few of them (studio/limits.py), so no one client can fill it."""
MAX_RUNS_PER_SEAT = 20
MAX_POINTS_PER_RUN = 500
MAX_SAMPLE_CHARS = 400
MAX_SETTINGS_CHARS = 2_000
ZERO_WIDTH_JOINER = "\u200d"                             # kept between emoji: 👩‍🏫 is joined by it
BLANK_LETTERS = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u034f"}
"""Characters that draw nothing yet are letters or symbols to Unicode (Hangul fillers, the blank
Braille pattern, the combining grapheme joiner): a name of them would look empty."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS boards (
    code TEXT PRIMARY KEY, teacher_digest TEXT NOT NULL, rules TEXT NOT NULL,
    created REAL NOT NULL, expires REAL NOT NULL, closed INTEGER NOT NULL DEFAULT 0,
    max_seats INTEGER NOT NULL, version INTEGER NOT NULL DEFAULT 0, locked INTEGER NOT NULL DEFAULT 0,
    opener TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS seats (
    id INTEGER PRIMARY KEY, board TEXT NOT NULL REFERENCES boards(code) ON DELETE CASCADE,
    digest TEXT NOT NULL UNIQUE, nickname TEXT NOT NULL, folded TEXT NOT NULL, joined REAL NOT NULL,
    UNIQUE (board, folded));
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, seat INTEGER NOT NULL REFERENCES seats(id) ON DELETE CASCADE,
    settings TEXT NOT NULL, started REAL NOT NULL, finished REAL, final_val REAL, steps INTEGER,
    sample TEXT, stopped INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS points (
    run INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    step INTEGER NOT NULL, elapsed REAL NOT NULL, val_loss REAL NOT NULL);
CREATE INDEX IF NOT EXISTS points_by_run ON points(run);
CREATE INDEX IF NOT EXISTS runs_by_seat ON runs(seat);
"""


@dataclass(frozen=True)
class Rules:
    """What a teacher fixes for every run on the board; students choose everything else.
    `model_type` None leaves the family free; `minutes` None leaves the budget free."""
    corpus: str = "shakespeare"
    minutes: float | None = None
    model_type: str | None = None


@dataclass(frozen=True)
class Seat:
    """What a student's page holds once joined: the board, the nickname, and the token that proves it."""
    board: str
    nickname: str
    token: str = field(repr=False)


@dataclass(frozen=True)
class RunRecord:
    id: int
    nickname: str
    settings: dict
    started: float
    points: list[tuple[int, float, float]]      # (step, seconds of training, val loss on the fixed sample)
    finished: float | None = None
    final_val: float | None = None              # on the whole val split, once finished
    steps: int | None = None
    sample: str | None = None
    stopped: bool = False


@dataclass(frozen=True)
class BoardSnapshot:
    code: str
    rules: Rules
    created: float
    expires: float
    closed: bool
    seats: int
    max_seats: int
    version: int
    runs: list[RunRecord]
    locked: bool = False


@dataclass(frozen=True)
class SeatRecord:
    """A seat as the teacher sees it."""
    nickname: str
    joined: float
    runs: int


class BoardStore(Protocol):
    """What the app asks of a board store (a server database could stand behind the same calls)."""

    def open_board(self, rules: Rules, opener: str = "", per_opener: int | None = None) -> tuple[str, str]: ...
    def join(self, code: str, nickname: str, token: str | None = None) -> Seat: ...
    def seat(self, code: str, token: str) -> Seat | None: ...
    def cannot_post(self, seat: Seat) -> str | None: ...
    def start_run(self, seat: Seat, settings: dict) -> int: ...
    def add_point(self, seat: Seat, run: int, step: int, elapsed: float, val_loss: float) -> None: ...
    def finish_run(self, seat: Seat, run: int, final_val: float | None, steps: int, sample: str,
                   stopped: bool = False) -> None: ...
    def close(self, code: str, teacher_secret: str) -> None: ...
    def lock(self, code: str, teacher_secret: str, locked: bool = True) -> None: ...
    def seats(self, code: str, teacher_secret: str) -> list[SeatRecord]: ...
    def remove_seat(self, code: str, teacher_secret: str, nickname: str) -> None: ...
    def stop_orphaned_runs(self) -> int: ...
    def is_teacher(self, code: str, teacher_secret: str) -> bool: ...
    def rules(self, code: str) -> Rules: ...
    def version(self, code: str) -> int | None: ...
    def snapshot(self, code: str) -> BoardSnapshot: ...


def board_code(raw) -> str:
    """A board code as typed ("gpt 7q2 k9x", "7Q2K9X", "GPT-7Q2-K9X") in its one spelling, or InputError."""
    if not isinstance(raw, str) or not raw.strip():
        raise InputError("Type the board's code (it looks like GPT-7Q2-K9X: your teacher shows it).")
    if len(raw) > MAX_RAW_INPUT:
        raise InputError("That is not a board code: a code looks like GPT-7Q2-K9X.")
    text = raw.strip().upper()
    letters = re.sub(r"[\s\-_]", "", text)
    if re.match(r"^GPT[\s\-_]", text) or len(letters) > CODE_LENGTH:      # the prefix typed too
        letters = letters[3:] if letters.startswith("GPT") else "?"
    code = spelled(letters)
    if not CODE_PATTERN.match(code):
        raise InputError("That is not a board code: a code is GPT- and six letters or digits (no I, O, 0 or 1), "
                         "like GPT-7Q2-K9X.")
    return code


def spelled(letters: str) -> str:
    """A code's six characters as the class reads them: GPT-7Q2-K9X."""
    return f"{CODE_PREFIX}{letters[:3]}-{letters[3:]}"


def _visible(c: str, before: str, after: str) -> bool:
    """Whether `c` may stay in a nickname: no control, format, private or unassigned character,
    nothing that draws blank, and joiners and variation selectors only beside an emoji."""
    if c in BLANK_LETTERS:
        return False
    if c == ZERO_WIDTH_JOINER or "\ufe00" <= c <= "\ufe0f":
        return _is_emoji(before) and (c != ZERO_WIDTH_JOINER or _is_emoji(after))
    return unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def _is_emoji(c: str) -> bool:
    return bool(c) and (unicodedata.category(c) == "So" or 0x1F000 <= ord(c) <= 0x1FAFF) and c not in BLANK_LETTERS


def nickname(raw) -> str:
    """A nickname people will see on a projector: NFKC-normalised, trimmed, one space between
    words, no control, direction-override or invisible characters (an RTL name stays RTL but
    cannot reorder the rest of the row); 1 to MAX_NICKNAME characters, at least one of them
    visible. Refused with InputError otherwise."""
    if not isinstance(raw, str) or len(raw) > MAX_RAW_INPUT:
        raise InputError(f"A nickname is at most {MAX_NICKNAME} characters.")
    text = unicodedata.normalize("NFKC", raw)
    kept = "".join(c for i, c in enumerate(text)
                   if _visible(c, text[i - 1] if i else "", text[i + 1] if i + 1 < len(text) else ""))
    name = " ".join(kept.split())
    if not name or all(unicodedata.category(c).startswith(("M", "Z")) for c in name):
        raise InputError("Choose a nickname: letters, digits or emoji, as the class will see it.")
    if len(name) > MAX_NICKNAME:
        raise InputError(f"A nickname is at most {MAX_NICKNAME} characters; that one is {len(name):,}.")
    return name


def folded(name: str) -> str:
    """What two nicknames share when a class could not tell them apart on a projector: case,
    accents and look-alike letters of other scripts (Cyrillic А for Latin A) set aside, each
    character replaced by the lowest of its Unicode homoglyphs (confusable-homoglyphs' data)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", name.casefold()) if not unicodedata.combining(c))
    return "".join(_skeleton_char(c) for c in plain)


@functools.lru_cache(maxsize=4096)
def _skeleton_char(c: str) -> str:
    for _ in range(3):                                    # a look-alike of a look-alike: follow it a little
        found = confusables.is_confusable(c, greedy=True)
        others = [h["c"] for h in found[0]["homoglyphs"] if len(h["c"]) == 1] if found else []
        lowest = min([c, *others])
        if lowest == c:
            break
        c = lowest
    return c


def _finite(what: str, value) -> None:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"{what} must be a finite number, not {value!r}.")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class SQLiteBoards:
    """The board store in one SQLite file (WAL). Safe from many threads and processes at once."""

    def __init__(self, path: str | Path, ttl: float = 24 * 3600, max_seats: int = 40,
                 clock: Callable[[], float] = time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.ttl, self.max_seats, self.clock = ttl, max_seats, clock
        self._local = threading.local()                  # one connection per thread
        db = self._db()
        db.executescript(SCHEMA)                      # IF NOT EXISTS: a second process, or a restart, finds them
        columns = {row[1] for row in db.execute("PRAGMA table_info(boards)")}
        for column, kind in (("locked", "INTEGER NOT NULL DEFAULT 0"), ("opener", "TEXT NOT NULL DEFAULT ''")):
            if column not in columns:                 # a file written before the column existed
                db.execute(f"ALTER TABLE boards ADD COLUMN {column} {kind}")

    # --- connections -------------------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")        # WAL: durable at each checkpoint, never corrupt
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA busy_timeout=30000")
            self._local.db = db
        return db

    def _write(self):
        return _Transaction(self._db())

    # --- teachers ----------------------------------------------------------------------------

    def open_board(self, rules: Rules, opener: str = "", per_opener: int | None = None) -> tuple[str, str]:
        """A new board under `rules`: (its code, the teacher's secret). Expired boards go first.
        `opener` names who asks (a digest of their address): each may hold `per_opener` open boards."""
        secret = secrets.token_urlsafe(18)
        now = self.clock()
        with self._write() as db:
            db.execute("DELETE FROM boards WHERE expires < ?", (now,))
            if per_opener is not None and opener and db.execute(
                    "SELECT COUNT(*) FROM boards WHERE opener = ? AND closed = 0", (opener,)).fetchone()[0] >= per_opener:
                raise InputError(f"This address has {per_opener} boards open already, the most one may hold: "
                                 "close one (with its teacher link) or use one of them.")
            if db.execute("SELECT COUNT(*) FROM boards").fetchone()[0] >= MAX_OPEN_BOARDS:
                raise InputError("Too many boards are open on this server right now; try again in an hour.")
            while True:
                letters = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
                code = spelled(letters)
                if not letters.startswith("GPT") and not db.execute("SELECT 1 FROM boards WHERE code = ?", (code,)).fetchone():
                    break
            db.execute("INSERT INTO boards (code, teacher_digest, rules, created, expires, max_seats, opener) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?)", (code, _digest(secret), json.dumps(rules.__dict__), now,
                                                       now + self.ttl, self.max_seats, opener))
        return code, secret

    def is_teacher(self, code: str, teacher_secret: str) -> bool:
        row = self._db().execute("SELECT teacher_digest FROM boards WHERE code = ?", (code,)).fetchone()
        return bool(row and isinstance(teacher_secret, str)
                    and hmac.compare_digest(row[0], _digest(teacher_secret)))

    def close(self, code: str, teacher_secret: str) -> None:
        """No more seats or runs (the board stays readable until it expires). Only with the teacher's secret."""
        self._teacher_only(code, teacher_secret, "close it")
        with self._write() as db:
            db.execute("UPDATE boards SET closed = 1, version = version + 1 WHERE code = ?", (code,))

    def _teacher_only(self, code: str, teacher_secret: str, what: str) -> None:
        if not self.is_teacher(code, teacher_secret):
            raise InputError(f"Only the teacher who opened this board can {what} (with the board's teacher link).")

    def lock(self, code: str, teacher_secret: str, locked: bool = True) -> None:
        """Take no new students (those seated keep training and posting), or take them again."""
        self._teacher_only(code, teacher_secret, "lock it")
        with self._write() as db:
            db.execute("UPDATE boards SET locked = ?, version = version + 1 WHERE code = ?", (int(locked), code))

    def seats(self, code: str, teacher_secret: str) -> list[SeatRecord]:
        """Who joined, when, and how many runs each posted: for the teacher's panel."""
        self._teacher_only(code, teacher_secret, "see its seats")
        rows = self._db().execute(
            "SELECT seats.nickname, seats.joined, COUNT(runs.id) FROM seats LEFT JOIN runs ON runs.seat = seats.id "
            "WHERE seats.board = ? GROUP BY seats.id ORDER BY seats.joined", (code,)).fetchall()
        return [SeatRecord(*row) for row in rows]

    def remove_seat(self, code: str, teacher_secret: str, nickname_: str) -> None:
        """Free a seat and its nickname; its runs leave the board with it."""
        self._teacher_only(code, teacher_secret, "remove a seat")
        with self._write() as db:
            gone = db.execute("DELETE FROM seats WHERE board = ? AND nickname = ?", (code, nickname_)).rowcount
            if not gone:
                raise InputError("Nobody on this board has that nickname (now): pick one from the list.")
            db.execute("UPDATE boards SET version = version + 1 WHERE code = ?", (code,))

    def stop_orphaned_runs(self) -> int:
        """Runs still "training" when the server starts lost their trainer with the last server
        (a restart, a kill): mark them stopped, so they stop counting as live. Returns how many."""
        now = self.clock()
        with self._write() as db:
            db.execute("UPDATE boards SET version = version + 1 WHERE code IN (SELECT seats.board FROM seats "
                       "JOIN runs ON runs.seat = seats.id WHERE runs.finished IS NULL)")
            return db.execute("UPDATE runs SET finished = ?, stopped = 1 WHERE finished IS NULL", (now,)).rowcount

    # --- students ----------------------------------------------------------------------------

    def _open_board(self, code: str) -> tuple[int, bool]:
        """(seats, locked) of a board that takes runs; InputError for one that is closed or not there."""
        _, _, _, closed, max_seats, _, locked = self._board_row(code)
        if closed:
            raise InputError(f"Board {code} is closed: it takes no more students or runs.")
        return max_seats, bool(locked)

    def join(self, code: str, nickname_: str, token: str | None = None) -> Seat:
        """A seat on the board under this nickname (one per nickname, case, accents and look-alike
        letters aside). With the `token` of that nickname's seat (the browser keeps it), the seat
        is given back as it was: a reload or a restart loses nothing."""
        code, name = board_code(code), nickname(nickname_)
        same = folded(name)
        with self._write() as db:
            max_seats, locked = self._open_board(code)
            held = db.execute("SELECT digest, nickname FROM seats WHERE board = ? AND folded = ?",
                              (code, same)).fetchone()
            if held is not None:
                if isinstance(token, str) and hmac.compare_digest(held[0], _digest(token)):
                    return Seat(code, held[1], token)              # the student's own seat, reclaimed
                raise InputError("Someone on this board already has that nickname: choose another.")
            if locked:
                raise InputError(f"Board {code} is locked: the teacher takes no new students now.")
            seats = db.execute("SELECT COUNT(*) FROM seats WHERE board = ?", (code,)).fetchone()[0]
            if seats >= max_seats:
                raise InputError(f"Board {code} is full: it seats {max_seats} students.")
            token = secrets.token_urlsafe(18)
            db.execute("INSERT INTO seats (board, digest, nickname, folded, joined) VALUES (?, ?, ?, ?, ?)",
                       (code, _digest(token), name, same, self.clock()))
            db.execute("UPDATE boards SET version = version + 1 WHERE code = ?", (code,))
        return Seat(code, name, token)

    def cannot_post(self, seat: Seat) -> str | None:
        """Why runs of `seat` can no longer post (the board closed or expired, the seat removed), or None."""
        try:
            self._open_board(seat.board)
        except InputError as e:
            return str(e)
        if self.seat(seat.board, seat.token) is None:
            return f"Your seat on board {seat.board} is gone (the teacher removed it)."
        return None

    def seat(self, code: str, token: str) -> Seat | None:
        """The seat this token holds on board `code` (a page reloaded, a server restarted), or None."""
        if not isinstance(token, str) or not isinstance(code, str):
            return None
        row = self._db().execute("SELECT seats.nickname FROM seats JOIN boards ON boards.code = seats.board "
                                 "WHERE seats.digest = ? AND seats.board = ? AND boards.expires >= ?",
                                 (_digest(token), code, self.clock())).fetchone()
        return Seat(code, row[0], token) if row else None

    def _seat_id(self, db: sqlite3.Connection, seat: Seat) -> int:
        row = db.execute("SELECT id FROM seats WHERE digest = ? AND board = ?",
                         (_digest(seat.token), seat.board)).fetchone()
        if row is None:
            raise InputError(f"Your seat on board {seat.board} is gone (the board expired, or the teacher removed "
                             "it): join again.")
        return row[0]

    def _own_run(self, db: sqlite3.Connection, seat: Seat, run: int) -> None:
        owned = db.execute("SELECT 1 FROM runs WHERE id = ? AND seat = ?", (run, self._seat_id(db, seat))).fetchone()
        if owned is None:
            raise InputError("That run is not yours to write.")

    def start_run(self, seat: Seat, settings: dict) -> int:
        text = json.dumps(settings, sort_keys=True)
        if len(text) > MAX_SETTINGS_CHARS:
            raise InputError("A run's settings are too long to post.")
        with self._write() as db:
            self._open_board(seat.board)
            seat_id = self._seat_id(db, seat)
            runs = db.execute("SELECT COUNT(*) FROM runs WHERE seat = ?", (seat_id,)).fetchone()[0]
            if runs >= MAX_RUNS_PER_SEAT:
                raise InputError(f"You have posted {runs} runs to this board, its most per student.")
            run = db.execute("INSERT INTO runs (seat, settings, started) VALUES (?, ?, ?)",
                             (seat_id, text, self.clock())).lastrowid
            db.execute("UPDATE boards SET version = version + 1 WHERE code = ?", (seat.board,))
        return run

    def add_point(self, seat: Seat, run: int, step: int, elapsed: float, val_loss: float) -> None:
        _finite("A curve point's loss", val_loss)
        with self._write() as db:
            self._own_run(db, seat, run)
            if db.execute("SELECT COUNT(*) FROM points WHERE run = ?", (run,)).fetchone()[0] >= MAX_POINTS_PER_RUN:
                return                                    # the curve keeps its first points; the final loss still posts
            db.execute("INSERT INTO points (run, step, elapsed, val_loss) VALUES (?, ?, ?, ?)",
                       (run, int(step), float(elapsed), float(val_loss)))
            db.execute("UPDATE boards SET version = version + 1 WHERE code = ?", (seat.board,))

    def finish_run(self, seat: Seat, run: int, final_val: float | None, steps: int, sample: str,
                   stopped: bool = False) -> None:
        if final_val is not None:
            _finite("A run's final loss", final_val)
        with self._write() as db:
            self._own_run(db, seat, run)
            db.execute("UPDATE runs SET finished = ?, final_val = ?, steps = ?, sample = ?, stopped = ? "
                       "WHERE id = ? AND finished IS NULL",
                       (self.clock(), final_val, int(steps), (sample or "")[:MAX_SAMPLE_CHARS], int(stopped), run))
            db.execute("UPDATE boards SET version = version + 1 WHERE code = ?", (seat.board,))

    # --- everyone ----------------------------------------------------------------------------

    def _board_row(self, code: str) -> tuple:
        """(rules, created, expires, closed, max_seats, version, locked), read on this thread's
        connection (inside its transaction, if one is open); InputError for a board that is not there."""
        row = self._db().execute("SELECT rules, created, expires, closed, max_seats, version, locked FROM boards "
                                 "WHERE code = ?", (code,)).fetchone()
        if row is None or row[2] < self.clock():
            raise InputError(f"There is no board {code} (a board lasts {self.ttl / 3600:g} h): check the code "
                             "with your teacher.")
        return row

    def rules(self, code: str) -> Rules:
        return Rules(**json.loads(self._board_row(code)[0]))

    def version(self, code: str) -> int | None:
        """The board's change counter (None: no such board), the one read a page makes to know it is current."""
        row = self._db().execute("SELECT version, expires FROM boards WHERE code = ?", (code,)).fetchone()
        return None if row is None or row[1] < self.clock() else row[0]

    def snapshot(self, code: str) -> BoardSnapshot:
        """The whole board as one consistent read (one transaction: WAL gives it a fixed view)."""
        db = self._db()
        db.execute("BEGIN")
        try:
            rules, created, expires, closed, max_seats, version, locked = self._board_row(code)
            seats = db.execute("SELECT COUNT(*) FROM seats WHERE board = ?", (code,)).fetchone()[0]
            rows = db.execute("SELECT runs.id, seats.nickname, runs.settings, runs.started, runs.finished, "
                              "runs.final_val, runs.steps, runs.sample, runs.stopped FROM runs JOIN seats ON "
                              "runs.seat = seats.id WHERE seats.board = ? ORDER BY runs.id", (code,)).fetchall()
            points: dict[int, list] = {row[0]: [] for row in rows}
            for run, step, elapsed, val in db.execute(
                    "SELECT points.run, points.step, points.elapsed, points.val_loss FROM points JOIN runs ON "
                    "points.run = runs.id JOIN seats ON runs.seat = seats.id WHERE seats.board = ? "
                    "ORDER BY points.run, points.step", (code,)):
                points[run].append((step, elapsed, val))
        finally:
            db.execute("COMMIT")
        runs = [RunRecord(id=r[0], nickname=r[1], settings=json.loads(r[2]), started=r[3], finished=r[4],
                          final_val=r[5], steps=r[6], sample=r[7], stopped=bool(r[8]), points=points[r[0]])
                for r in rows]
        return BoardSnapshot(code, Rules(**json.loads(rules)), created, expires, bool(closed), seats, max_seats,
                             version, runs, bool(locked))


class _Transaction:
    """`BEGIN IMMEDIATE` … `COMMIT` (or `ROLLBACK` on an error): one writer at a time, never half a change."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, error, trace) -> None:
        try:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        except sqlite3.OperationalError as e:
            raise _in_words(e) from None
        if isinstance(error, sqlite3.OperationalError):
            raise _in_words(error) from None


def _in_words(error: sqlite3.OperationalError) -> Exception:
    """The database's refusals a class can meet (a full disk, a read-only folder) as sentences."""
    text = str(error)
    if "full" in text:
        return InputError("The server's disk is full: the class board cannot take posts right now (training "
                          "goes on without posting).")
    if "readonly" in text or "read-only" in text:
        return InputError("The server cannot write the class board's file (read-only): nothing can be posted.")
    return error
