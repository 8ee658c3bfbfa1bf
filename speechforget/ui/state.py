"""Per-visitor state kept on the server, keyed by a random session id.

A browser session only ever holds its own id (in a `gr.State`, which lives on the
server and is never shared), so one visitor's models, uploads and files are out
of another's reach. Entries expire after `ttl_s` without use and the store keeps
at most `capacity` sessions (least recently used go first).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Session:
    """What one visitor has: the last run (an opaque pipeline Result), its step log,
    a summary row per run, the stop flag of the run in progress and a private folder."""

    folder: Path
    result: Any = None  # speechforget.pipeline.Result of the last run
    history: dict[str, list[dict]] = field(default_factory=lambda: {"unlearned": [], "retrain": []})
    totals: dict[str, int | None] = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    # set while no worker of this session trains (Stop waits for it before it answers)
    idle: threading.Event = field(default_factory=lambda: _set(threading.Event()))
    projection: str = ""  # how the last embedding figure was made (UMAP / PCA ...)
    awaiting_gold: bool = False  # the last unlearning run finished and wants its gold retrain
    runs: int = 0
    touched: float = field(default_factory=time.monotonic)

    def new_run(self, stop: threading.Event | None = None) -> threading.Event:
        """Forget the previous run's live state (stopping its gold retrain if that still
        runs: the new run supersedes it); a fresh stop flag for the new one."""
        self.stop.set()
        self.result, self.projection, self.awaiting_gold = None, "", False
        self.history = {"unlearned": [], "retrain": []}
        self.totals = {}
        self.stop = stop or threading.Event()
        self.runs += 1
        return self.stop


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
