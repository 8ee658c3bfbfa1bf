"""The Audit panel: filled by the Run and gold handlers (`panel`, under AUDIT_KEYS) with
what is known after the unlearning run, completed after the gold retrain; the attack
choice and the threshold slider are answered here from the session's AuditView (compact
per-clip scores, computed once per RunView), so moving the slider costs milliseconds."""

from __future__ import annotations

from typing import Any

import gradio as gr

from speechforget.auditview import AuditView, audit_view
from speechforget.ui import audit as shown
from speechforget.ui.context import AppContext
from speechforget.ui.state import RunState, Session

AUDIT_KEYS = (
    "audit_summary",
    "audit_roc",
    "audit_attack",
    "audit_threshold",
    "audit_rates",
    "audit_risky",
    "audit_classes",
    "audit_relearn",
)
GOLD_PENDING = "the gold retrain runs next; this fills in when it is done"
NO_GOLD = {
    RunState.STOPPED: "the gold retrain was stopped",
    RunState.FAILED: "the gold retrain failed",
}


def audit_of(sess: Session | None) -> AuditView | None:
    """The session's AuditView for its current RunView (computed once per view)."""
    if sess is None or sess.view is None:
        return None
    view, cached = sess.view, sess.audit
    if cached is None or cached[0] is not view:
        cached = (view, audit_view(view))
        sess.audit = cached
    return cached[1]


def no_gold_reason(sess: Session) -> str:
    """Why the session's run has no gold model (yet): "" when it has one."""
    view = sess.view
    if view is None or view.has_gold:
        return ""
    if sess.state in NO_GOLD:
        return NO_GOLD[sess.state]
    if view.run_gold and sess.state in (
        RunState.UNLEARNING,
        RunState.AWAITING_GOLD,
        RunState.GOLD,
    ):
        return GOLD_PENDING
    return "this run has no gold retrain"


def panel(sess: Session | None) -> dict[str, Any]:
    """Every AUDIT_KEYS output for the session's latest run (placeholders before one)."""
    audit = audit_of(sess)
    view = None if sess is None else sess.view
    reason = "" if sess is None else no_gold_reason(sess)
    attack = "reference" if audit is not None and audit.has_gold else "loss"
    bar = shown.slider(audit, attack)
    return dict(
        audit_summary=shown.summary(audit, view, reason),
        audit_roc=shown.roc_figure(audit, attack, bar["value"], reason),
        audit_attack=gr.update(value=attack),
        audit_threshold=gr.update(**bar),
        audit_rates=shown.rates_markdown(audit, attack, bar["value"], reason),
        audit_risky=shown.risky_html(audit, view),
        audit_classes=shown.classes_figure(audit),
        audit_relearn=shown.relearn_figure(audit, reason),
    )


def placeholders(message: str) -> dict[str, Any]:
    """The panel while a run is going (a new run clears the previous one's audit)."""
    out = panel(None)
    out["audit_summary"] = message
    return out


class AuditHandlers:
    def __init__(self, app: AppContext) -> None:
        self.app = app

    def _get(self, sid: str | None) -> tuple[AuditView | None, str]:
        sess = self.app.store.peek(sid)
        return audit_of(sess), "" if sess is None else no_gold_reason(sess)

    def show(self, sid: str | None) -> tuple:
        """Every panel output (AUDIT_KEYS order): after Stop, or to redraw it."""
        values = panel(self.app.store.peek(sid))
        return tuple(values[k] for k in AUDIT_KEYS)

    def attack(self, sid: str | None, attack: str) -> tuple:
        """Another attack picked: (slider update, read-out, ROC with its operating points)."""
        audit, reason = self._get(sid)
        attack = attack if attack in ("reference", "loss") else "loss"
        bar = shown.slider(audit, attack)
        return (
            gr.update(**bar),
            shown.rates_markdown(audit, attack, bar["value"], reason),
            shown.roc_figure(audit, attack, bar["value"], reason),
        )

    def threshold(self, sid: str | None, attack: str, value: Any) -> tuple:
        """The slider moved: (read-out, ROC with each model's operating point)."""
        audit, reason = self._get(sid)
        try:
            t = float(value)
        except (TypeError, ValueError):
            return "⚠️ The threshold must be a number.", gr.skip()
        return (
            shown.rates_markdown(audit, attack, t, reason),
            shown.roc_figure(audit, attack, t, reason),
        )
