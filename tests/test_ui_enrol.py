"""The "Your voice" loop through the app's handlers (direct calls): takes checked and
kept, train it in, forget me, the verdict; sessions kept apart; deletion leaves nothing."""

from __future__ import annotations

import numpy as np
import pytest
from ui_support import TinyContexts
from visitor_support import visitor_clip

from speechforget.data.audio import save_wav


@pytest.fixture(scope="module")
def app(tiny_ctx):
    from speechforget.ui.app import App

    return App.create(TinyContexts(tiny_ctx))


@pytest.fixture(scope="module")
def take_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("takes")
    files = [save_wav(folder / f"take{k}.wav", visitor_clip("yes", k)) for k in range(8)]
    return files


def _enrol(app, files, task="kws"):
    sid = None
    for f in files:
        sid, version, msg, prompt, cleared = app.enrol.add_take(sid, str(f), task)
        assert msg.startswith("✅"), msg
    return sid


def test_prompts_ask_for_each_keyword_twice(app):
    from speechforget.ui.handlers.enrol import next_word
    from speechforget.ui.state import Take

    names = ["yes", "no", "up", "down", "_silence_"]
    asked = []
    takes: list = []
    for _ in range(9):
        w = next_word(takes, names)
        asked.append(w)
        takes.append(Take(None, w))
    assert asked == ["yes", "yes", "no", "no", "up", "up", "down", "down", "yes"]


def test_a_bad_take_is_refused_and_not_kept(app, tmp_path):
    tone = save_wav(tmp_path / "tone.wav", 0.3 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000))
    sid, version, msg, prompt, cleared = app.enrol.add_take(None, str(tone), "kws")
    assert "Not kept" in msg and "speech" in msg and not app.enrol.takes(sid)
    sid, *_ = app.enrol.add_take(sid, str(save_wav(tmp_path / "s.wav", np.zeros(16000))), "kws")
    assert not app.enrol.takes(sid)


def test_delete_and_re_record_a_take(app, take_files):
    sid = _enrol(app, take_files[:3])
    first = app.enrol.takes(sid)[1].path
    app.enrol.redo_take(sid, 1, "kws")
    app.enrol.add_take(sid, str(take_files[3]), "kws")
    takes = app.enrol.takes(sid)
    assert len(takes) == 3 and takes[1].path != first and not first.exists()
    assert takes[1].word == "yes"  # the re-recorded take keeps its word
    app.enrol.delete_take(sid, 0, "kws")
    assert len(app.enrol.takes(sid)) == 2


def test_train_in_forget_and_prove_then_delete(app, take_files):
    sid = _enrol(app, take_files)
    sess = app.store.peek(sid)
    outs = list(app.enrol.train_in(sid, "kws"))
    assert "Trained with you" in outs[-1][0], outs[-1][0]
    heard = outs[-1][2]
    assert len(heard) == 4  # one held-back take per keyword
    outs = list(app.enrol.forget(sid, "kws", "random_label"))
    status, _, proof_rows, verdict, metrics = outs[-1]
    assert "Forgotten" in status and "reused" in status  # kws: the original is the gold
    assert len(proof_rows) == 8 and "member" in proof_rows[0][3]
    assert "held-back words right" in verdict and "membership score" in verdict
    labels = [row[0] for row in metrics]
    assert (
        "your held-back clips: accuracy" in labels and "your training clips: membership" in labels
    )

    other, other_sess = app.store.get(None)  # a second visitor sees none of it
    assert other != sid and not app.enrol.takes(other) and other_sess.voice.ctx is None
    assert "first" in list(app.enrol.forget(other, "kws", "random_label"))[-1][0]
    files = [p for p in sess.voice_folder.rglob("*") if p.is_file()]
    assert any(p.suffix == ".wav" for p in files)
    assert not list(other_sess.folder.rglob("*.wav"))

    app.enrol.delete_all(sid)
    assert not sess.voice_folder.exists() and not app.enrol.takes(sid)
    assert sess.voice.ctx is None and sess.voice.result is None
    assert "first" in list(app.enrol.train_in(sid, "kws"))[-1][0]


def test_sid_makes_you_a_new_speaker(app, take_files):
    sid = _enrol(app, take_files[:6], task="sid")
    outs = list(app.enrol.train_in(sid, "sid"))
    assert "Trained with you" in outs[-1][0], outs[-1][0]
    outs = list(app.enrol.forget(sid, "sid", "random_label"))
    status, _, proof_rows, verdict, metrics = outs[-1]
    assert "Forgotten" in status and "one more output" in status
    assert ("no longer identified" in verdict) or ("still picks you out" in verdict)
    assert all(r[1] == "you" for r in proof_rows)


def test_a_session_that_ends_takes_its_recordings_and_models_with_it(app, take_files):
    sid = _enrol(app, take_files)
    list(app.enrol.train_in(sid, "kws"))
    sess = app.store.peek(sid)
    assert sess.voice.ctx is not None and list(sess.voice_folder.rglob("*.wav"))
    app.store.drop(sid)  # what Gradio's delete_callback does when the browser session ends
    assert not sess.folder.exists() and app.store.peek(sid) is None


def test_an_uploaded_file_named_after_a_keyword_is_that_keyword(app, tmp_path):
    f = save_wav(tmp_path / "down_3.wav", visitor_clip("down", 0))
    sid, _, msg, *_ = app.enrol.add_take(None, str(f), "kws")
    assert "“down”" in msg and app.enrol.takes(sid)[0].word == "down"  # not the prompted "yes"
