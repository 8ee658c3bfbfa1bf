"""The "Your voice" loop: enrol (record takes), train it in, forget me, prove it.

Every take and every model trained with it stays in the visitor's session (its folder
and its VoiceState), never in the shared cache; "Delete my recordings" removes them.
The training phases stream like a run: engine StepLog -> runs.stream's Step event ->
these handlers -> views.loss_figure -> the tab's loss plot.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr

from speechforget import proof, report
from speechforget.config import ExperimentConfig, default_backbone
from speechforget.data.audio import AudioError, save_wav
from speechforget.data.dataset import KEYWORDS
from speechforget.data.visitor import (
    MIN_KEYWORDS,
    MIN_TAKES,
    MIN_UTTERANCES,
    keyword_of,
    make_visitor,
)
from speechforget.runs import Done, Error, Step, stream
from speechforget.store import Store
from speechforget.takes import check_take
from speechforget.ui import views
from speechforget.ui.context import AppContext
from speechforget.ui.handlers.runs import outputs
from speechforget.ui.state import Take

ME = "you"  # the visitor's speaker name (a new class in speaker identification)
PUSH_EVERY_S = 1.0  # live-curve pushes: the page redraws each one, on the same cores
HEARD_HEADERS = ["your clip", "said", "model trained with you", "shipped model (never heard you)"]
PROOF_HEADERS = [
    "your clip",
    "said",
    "trained with you",
    "after forgetting",
    "never heard you (gold)",
]


def keywords_of(class_names: list[str]) -> list[str]:
    """The keywords a visitor can be prompted for in a keyword task."""
    return [k for k in KEYWORDS if k in class_names]


def min_keywords(class_names: list[str]) -> int:
    return min(MIN_KEYWORDS, len(keywords_of(class_names)))


def next_word(takes: list[Take], class_names: list[str]) -> str:
    """The keyword to ask for next: each of the first keywords MIN_TAKES times, in
    order, then one more take of the least recorded keyword."""
    words = keywords_of(class_names) or list(KEYWORDS)
    counts = {w: sum(t.word == w for t in takes) for w in words}
    for w in words[: min_keywords(class_names)]:
        if counts[w] < MIN_TAKES:
            return w
    return min(words, key=lambda w: (counts[w], words.index(w)))


def named_word(path: str, class_names: list[str]) -> str:
    """The keyword an uploaded file's name says (yes_2.wav, stop-take1.flac), or ""."""
    stem = Path(path).stem.lower().replace("-", "_")
    word = keyword_of(Path(path).with_name(stem + ".wav"), Path(path).parent)
    return word if word in class_names else ""


def prompt(task: str, takes: list[Take], class_names: list[str], redo: int | None) -> str:
    """What the visitor should record next, and how far the enrolment is."""
    if redo is not None and redo < len(takes):
        return f"🎙️ **Re-record take {redo + 1}:** say **“{takes[redo].word}”**."
    word = next_word(takes, class_names)
    if task == "sid":
        need = max(0, MIN_UTTERANCES - len(takes))
        left = f"{need} more needed" if need else "enough to train; about 10 is best"
        return f"🎙️ Say anything, for example **“{word}”** ({len(takes)} recorded, {left})."
    need = min_keywords(class_names)
    done = sum(
        sum(t.word == w for t in takes) >= MIN_TAKES for w in keywords_of(class_names)[:need]
    )
    return (
        f"🎙️ Say **“{word}”** ({done}/{need} keywords recorded {MIN_TAKES}× so far; "
        "one take of each is held back to test the model)."
    )


class EnrolHandlers:
    def __init__(self, app: AppContext) -> None:
        self.app = app

    def _class_names(self, task: str) -> list[str]:
        return list(self.app.context(task).task.class_names)

    # ---- step 1: enrol -------------------------------------------------------------------

    def add_take(self, sid: str | None, path: str | None, task: str) -> tuple:
        """A recorded or uploaded take, checked (silent, short, long, clipped, not speech)
        and kept; returns (session, takes version, message, prompt, cleared recorder)."""
        sid, sess = self.app.store.get(sid)
        v = sess.voice
        names = self._class_names(task)
        if not path:
            return sid, gr.skip(), "", prompt(task, v.takes, names, v.redo), gr.skip()
        try:
            wave = check_take(path)
        except AudioError as err:
            _drop_upload(path)
            msg = f"⚠️ **Not kept:** {err}"
            return sid, gr.skip(), msg, prompt(task, v.takes, names, v.redo), None
        _drop_upload(path)  # the only copy of the take is the session's
        v.serial += 1
        file = save_wav(sess.voice_folder / "takes" / f"take{v.serial}.wav", wave)
        if v.redo is not None and v.redo < len(v.takes):
            i, v.redo = v.redo, None
            old, v.takes[i] = v.takes[i], Take(file, v.takes[i].word)
            old.path.unlink(missing_ok=True)
            msg = f"✅ Take {i + 1} re-recorded."
        else:
            word = (named_word(path, names) or next_word(v.takes, names)) if task == "kws" else ""
            v.takes.append(Take(file, word))
            msg = f"✅ Take {len(v.takes)} kept" + (f" as “{word}”." if word else ".")
        return sid, v.serial, msg, prompt(task, v.takes, names, v.redo), None

    def delete_take(self, sid: str | None, index: int, task: str) -> tuple:
        sess = self.app.store.peek(sid)
        if sess is None or not 0 <= index < len(sess.voice.takes):
            return gr.skip(), gr.skip(), gr.skip()
        v = sess.voice
        v.takes.pop(index).path.unlink(missing_ok=True)
        v.redo, v.serial = None, v.serial + 1
        return (
            v.serial,
            f"🗑️ Take {index + 1} deleted.",
            prompt(task, v.takes, self._class_names(task), None),
        )

    def redo_take(self, sid: str | None, index: int, task: str) -> tuple:
        sess = self.app.store.peek(sid)
        if sess is None or not 0 <= index < len(sess.voice.takes):
            return gr.skip(), gr.skip()
        sess.voice.redo = index
        return f"Record take {index + 1} again.", prompt(
            task, sess.voice.takes, self._class_names(task), index
        )

    def prompt_for(self, sid: str | None, task: str, class_names: list[str] | None = None) -> str:
        """The next take's prompt; `class_names` given: the task's, without loading it
        (the page is built before the data is ready)."""
        sess = self.app.store.peek(sid)
        takes, redo = ([], None) if sess is None else (sess.voice.takes, sess.voice.redo)
        return prompt(task, takes, class_names or self._class_names(task), redo)

    def takes(self, sid: str | None) -> list[Take]:
        sess = self.app.store.peek(sid)
        return [] if sess is None else list(sess.voice.takes)

    # ---- step 2: train it in -------------------------------------------------------------

    def train_in(self, sid: str | None, task: str, progress=gr.Progress()) -> Iterator[tuple]:
        """Train an original on the built-in training set plus the takes (held-back ones
        excepted); outputs (status, loss, heard table, Forget button)."""
        from speechforget.data.audio import load_audio
        from speechforget.enrol import enrol

        sess = self.app.store.peek(sid)
        out = partial(outputs, ("status", "loss", "heard", "forget"))
        if sess is None or not sess.voice.takes:
            yield out(status="⚠️ Record your takes first (step 1).")
            return
        v = sess.voice
        try:
            base = self.app.context(task)
            names = list(base.task.class_names)
            waves = [load_audio(t.path) for t in v.takes]
            words = [t.word for t in v.takes] if task == "kws" else [""] * len(v.takes)
            visitor = make_visitor(ME, waves, words, task, min_keywords=min_keywords(names))
        except ValueError as err:
            yield out(status=f"⚠️ **Cannot train yet:** {err}")
            return
        v.ctx, v.result = None, None
        store = Store(sess.voice_folder / "store")
        fn = lambda on_step: enrol(base, visitor, store, lambda log: on_step("unlearned", log))  # noqa: E731
        yield out(
            status=f"**Training** a model on the built-in clips plus your {visitor.n_trained} "
            f"takes ({visitor.n_held} held back to test it) …",
            forget=gr.update(interactive=False),
        )
        ctx = yield from self._stream(fn, progress, out, "training with you")
        if ctx is None:
            return
        v.ctx, v.trained_on = ctx, (task, *(str(t.path) for t in v.takes))
        rows = proof.hearing(ctx)
        yield out(
            status=f"✅ **Trained with you** in {ctx.original.meta['train_time_s']:.0f} s. "
            "How it hears your held-back clips is below; now forget yourself (step 3).",
            heard=[
                [f"held back {i + 1}", r.said, _cell(r.by["original"]), _cell(r.by["shipped"])]
                for i, r in enumerate(rows)
            ],
            forget=gr.update(interactive=True),
        )

    # ---- steps 3 and 4: forget me, prove it ----------------------------------------------

    def forget(
        self, sid: str | None, task: str, method: str, seed: Any = 0, progress=gr.Progress()
    ) -> Iterator[tuple]:
        """Unlearn the takes (speaker mode in kws, class mode in sid) with `method`, get the
        gold, and prove it; outputs (status, loss, proof table, verdict, metrics)."""
        from speechforget.pipeline import run_experiment

        out = partial(outputs, ("status", "loss", "proof", "verdict", "metrics"))
        sess = self.app.store.peek(sid)
        v = None if sess is None else sess.voice
        if v is None or v.ctx is None or v.trained_on[:1] != (task,):
            yield out(status="⚠️ Train the model with your voice first (step 2), for this task.")
            return
        cfg = ExperimentConfig(
            task=task,
            backbone=default_backbone(task),
            forget=f"speaker:{ME}",
            method=method,
            seed=int(seed or 0),
        )
        ctx = v.ctx
        yield out(status=f"**Forgetting you** with {method} …", verdict="", metrics=[])
        res = yield from self._stream(
            lambda on_step: run_experiment(cfg, on_step, ctx), progress, out, "forgetting you"
        )
        if res is None:
            return
        v.result = res
        p = proof.prove(res)
        rep = report.build(res)
        gold = rep["added"]["gold"]
        t_u = res.times.get("unlearned", 0.0)
        yield out(
            status=f"✅ **Forgotten** in {t_u:.1f} s with {method}. Gold: {gold}.",
            proof=[
                [
                    f"{r.kind} {i + 1}",
                    r.said,
                    *(_cell(r.by.get(m)) for m in ("original", "unlearned", "retrain")),
                ]
                for i, r in enumerate(p.rows)
            ],
            verdict=f"### {p.verdict}",
            metrics=views.metrics_rows(rep),
        )

    def _stream(self, fn, progress, out, what: str):
        history, last, t0 = {"unlearned": [], "retrain": []}, 0.0, time.monotonic()
        for event in stream(fn, threading.Event()):
            match event:
                case Step(which, log):
                    history[which].append(log.to_dict())
                    now = time.monotonic()
                    if now - last >= PUSH_EVERY_S:
                        last = now
                        total = log.total_steps or log.step
                        progress(
                            min(log.step / max(total, 1), 1.0), desc=f"{what} {log.step}/{total}"
                        )
                        phase = "gold retrain" if which == "retrain" else what
                        yield out(
                            status=f"**{phase.capitalize()}**: step {log.step}/{total}, {now - t0:.0f} s",
                            loss=views.loss_figure(history, {}),
                        )
                case Error(error):
                    yield out(status=f"⚠️ **{what.capitalize()} failed:** {error}")
                    return None
                case Done(result):
                    yield out(loss=views.loss_figure(history, {}))
                    return result
        return None

    # ---- delete ----------------------------------------------------------------------------

    def delete_all(self, sid: str | None) -> tuple:
        sess = self.app.store.peek(sid)
        if sess is not None:
            sess.forget_voice()
        return (
            time.monotonic_ns(),
            "🗑️ **Deleted:** your recordings and every model trained with them are gone.",
            [],
            [],
            "",
            [],
        )


def _drop_upload(path: str) -> None:
    """Delete Gradio's copy of an uploaded or recorded take (in its upload folder)."""
    p = Path(path).resolve()
    if Path(gr.utils.get_upload_folder()).resolve() in p.parents:
        p.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            p.parent.rmdir()  # the per-upload folder, when now empty


def _cell(h: proof.Heard | None) -> str:
    if h is None:
        return "-"
    member = "" if h.member is None else f" · member {h.member:.2f}"
    return f"{h.top} ({h.p_top:.0%}){member}"
