"""Per-visitor state kept on the server, keyed by a random session id, and the state of
the visitor's run (`RunState`: unlearning, then the gold retrain), with every allowed
transition written down once in `NEXT`.

A browser session only ever holds its own id (in a `gr.State`, which lives on the
server and is never shared), so one visitor's models, uploads and files are out
of another's reach. Entries expire after `ttl_s` without use and the store keeps
at most `capacity` sessions (least recently used go first). No Gradio here.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from speechforget.runview import RunView
from speechforget.ui.views import Projection


class RunState(Enum):
    """Where the session's latest run is. Run presses start UNLEARNING from any state."""

    IDLE = "idle"  # no run yet
    UNLEARNING = "unlearning"  # the method runs (the live curve streams)
    AWAITING_GOLD = "awaiting gold"  # unlearned and evaluated; the gold retrain comes next
    GOLD = "gold"  # the gold retrain runs
    DONE = "done"  # nothing more to come for this run
    STOPPED = "stopped"  # Stop was pressed (or the run ended early)
    FAILED = "failed"  # a phase raised; its message is in the status box


S = RunState
NEXT: dict[RunState, frozenset[RunState]] = {
    S.IDLE: frozenset({S.UNLEARNING}),
    S.UNLEARNING: frozenset({S.UNLEARNING, S.AWAITING_GOLD, S.DONE, S.STOPPED, S.FAILED}),
    # DONE: a later Run press gives up a gold retrain that has not begun
    S.AWAITING_GOLD: frozenset({S.UNLEARNING, S.GOLD, S.DONE, S.STOPPED}),
    S.GOLD: frozenset({S.UNLEARNING, S.DONE, S.STOPPED, S.FAILED}),
    S.DONE: frozenset({S.UNLEARNING}),
    S.STOPPED: frozenset({S.UNLEARNING}),
    S.FAILED: frozenset({S.UNLEARNING}),
}
STOPPABLE = frozenset({S.UNLEARNING, S.AWAITING_GOLD, S.GOLD})


@dataclass
class Take:
    """One enrolment recording of the "Your voice" loop, kept in the session's folder."""

    path: Path  # a 16 kHz wav in <session folder>/voice/
    word: str  # the keyword the visitor was asked to say


@dataclass
class VoiceState:
    """The visitor's own recordings and what was trained with them. Everything here lives
    in this session only (memory and the session's folder), never in the shared cache."""

    takes: list[Take] = field(default_factory=list)
    redo: int | None = None  # the take the next recording replaces ("Re-record")
    ctx: Any = None  # the pipeline Context whose original was trained with the takes
    trained_on: tuple[str, ...] = ()  # the take files (and task) that ctx was trained with
    result: Any = None  # the last "Forget me" run (pipeline Result)
    serial: int = 0  # numbers take files: a re-recorded take never reuses a name


@dataclass
class Session:
    """What one visitor has: the latest run (its number, state, pipeline Result and the
    RunView the UI reads), its step log, a summary row per run, the run's stop flag and
    a private folder."""

    folder: Path
    result: Any = None  # the pipeline Result of the latest run: handed back to the core only
    view: RunView | None = None  # what the UI shows of `result`
    state: RunState = RunState.IDLE
    history: dict[str, list[dict]] = field(default_factory=lambda: {"unlearned": [], "retrain": []})
    totals: dict[str, int | None] = field(default_factory=dict)
    rows: list[list] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    # set while no worker of this session trains (Stop waits for it before it answers)
    idle: threading.Event = field(default_factory=lambda: _set(threading.Event()))
    # set while no handler streams this run to the page (Stop's message must come last)
    quiet: threading.Event = field(default_factory=lambda: _set(threading.Event()))
    projection: Projection | None = None  # how the last embedding map was drawn
    audit: Any = None  # (RunView, its AuditView): the Audit panel's scores, once per view
    runs: int = 0  # the latest run's number
    touched: float = field(default_factory=time.monotonic)
    voice: VoiceState = field(default_factory=VoiceState)

    @property
    def voice_folder(self) -> Path:
        """Where the visitor's recordings and the models trained with them are kept."""
        return self.folder / "voice"

    def forget_voice(self) -> None:
        """ "Delete my recordings": the takes and every model trained with them."""
        self.voice = VoiceState()
        shutil.rmtree(self.voice_folder, ignore_errors=True)

    def new_run(self, stop: threading.Event | None = None) -> int:
        """Start run number runs + 1 in state UNLEARNING, forgetting the previous run's
        live state (and stopping its gold retrain if that still runs: the new run
        supersedes it). Returns the new run's number."""
        self.stop.set()
        self.result, self.view, self.projection, self.audit = None, None, None, None
        self.history = {"unlearned": [], "retrain": []}
        self.totals = {}
        self.stop = stop or threading.Event()
        self.quiet = threading.Event()
        self.runs += 1
        self.state = RunState.UNLEARNING
        return self.runs

    def move(self, to: RunState, run_no: int | None = None) -> bool:
        """Go to state `to` if NEXT allows it and `run_no` (when given) is still the
        latest run: a superseded run's handler changes nothing. True if it moved."""
        if (run_no is not None and run_no != self.runs) or to not in NEXT[self.state]:
            return False
        self.state = to
        return True

    def give_up_gold(self) -> None:
        """A Run press: a gold retrain still waiting for the previous run will not come."""
        if self.state is RunState.AWAITING_GOLD:
            self.move(RunState.DONE)

    def request_stop(self) -> None:
        """Ask the run's worker to stop after its current step; the run is STOPPED."""
        self.stop.set()
        if self.state in STOPPABLE:
            self.move(RunState.STOPPED)


def _set(event: threading.Event) -> threading.Event:
    event.set()
    return event


class SessionStore:
    def __init__(self, ttl_s: float = 3600.0, capacity: int = 64) -> None:
        self.ttl_s, self.capacity = ttl_s, capacity
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def get(self, sid: str | None) -> tuple[str, Session]:
        """(id, session) for `sid`, creating a new session for None or an expired id."""
        with self._lock:
            self._sweep(make_room=not sid or sid not in self._sessions)
            if not sid or sid not in self._sessions:
                sid = sid or uuid.uuid4().hex
                folder = Path(tempfile.mkdtemp(prefix="speechforget_session_"))
                self._sessions[sid] = Session(folder)
            session = self._sessions[sid]
            session.touched = time.monotonic()
            return sid, session

    def peek(self, sid: str | None) -> Session | None:
        """The session for `sid` if it exists (never creates one: read-only handlers)."""
        with self._lock:
            session = self._sessions.get(sid) if sid else None
            if session is not None:
                session.touched = time.monotonic()
            return session

    def drop(self, sid: str | None) -> None:
        """Forget a session and delete its files (also gr.State's delete_callback)."""
        with self._lock:
            session = self._sessions.pop(sid, None) if sid else None
        if session is not None:
            session.stop.set()
            shutil.rmtree(session.folder, ignore_errors=True)

    def __len__(self) -> int:
        return len(self._sessions)

    def _sweep(self, make_room: bool) -> None:
        now = time.monotonic()
        old = [k for k, s in self._sessions.items() if now - s.touched > self.ttl_s]
        if make_room:  # the least recently used go first
            by_age = sorted(self._sessions, key=lambda k: self._sessions[k].touched)
            old += by_age[: max(0, len(self._sessions) - self.capacity + 1)]
        for k in set(old):
            session = self._sessions.pop(k)
            session.stop.set()
            shutil.rmtree(session.folder, ignore_errors=True)
