"""The session's run state machine and the typed embedding projection, without Gradio."""

from __future__ import annotations

import pytest

from speechforget.ui import views
from speechforget.ui.state import NEXT, RunState, Session

S = RunState


@pytest.fixture
def sess(tmp_path):
    return Session(tmp_path)


def test_every_state_has_its_transitions_written_down():
    assert set(NEXT) == set(RunState)
    assert all(S.UNLEARNING in NEXT[s] for s in RunState)  # Run always starts a new run


def test_a_run_with_its_gold(sess):
    assert sess.state is S.IDLE and not sess.move(S.GOLD)  # no run: no gold
    n = sess.new_run()
    assert sess.state is S.UNLEARNING and n == 1
    assert sess.move(S.AWAITING_GOLD, n) and sess.move(S.GOLD) and sess.move(S.DONE, n)
    assert not sess.move(S.GOLD)  # the gold retrain runs once


def test_a_superseded_run_changes_nothing(sess):
    old = sess.new_run()
    new = sess.new_run()
    assert not sess.move(S.DONE, old) and sess.state is S.UNLEARNING
    assert sess.move(S.FAILED, new) and sess.state is S.FAILED


def test_stop_and_a_new_run_press_withdraw_the_gold(sess):
    n = sess.new_run()
    sess.move(S.AWAITING_GOLD, n)
    sess.request_stop()
    assert sess.state is S.STOPPED and sess.stop.is_set() and not sess.move(S.GOLD)
    n = sess.new_run()
    assert not sess.stop.is_set()
    sess.move(S.AWAITING_GOLD, n)
    sess.give_up_gold()  # Run pressed again, before the gold began
    assert sess.state is S.DONE and not sess.move(S.GOLD)
    sess.request_stop()  # nothing runs: the state stays
    assert sess.state is S.DONE


def test_projection_is_provisional_only_while_umap_warms_up(monkeypatch):
    monkeypatch.setattr(views.viz, "projection_status", lambda: "warming")
    assert views._projection("auto", "PCA (UMAP still warming up)").provisional
    assert not views._projection("pca", "PCA").provisional  # PCA asked for
    p = views._projection("auto", "UMAP")
    assert p.method == "umap" and not p.provisional
    monkeypatch.setattr(views.viz, "projection_status", lambda: "failed: OSError")
    p = views._projection("auto", "PCA (UMAP failed: OSError)")
    assert p.method == "pca" and not p.provisional  # a redraw would not mend it
