"""Forget specs and the forget / retain / test split they define.

Spec grammar (one string, as typed on the command line or built by the UI):

    class:stop          every training clip of one class (a keyword in kws, a speaker in sid)
    class:stop,go       several classes
    speaker:spk07       every training clip of one speaker, in either task
    sample:5            a seeded random 5% of the training clips
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from speechforget.data.dataset import TaskData

KINDS = ("class", "speaker", "sample")


@dataclass(frozen=True)
class ForgetSpec:
    kind: str  # one of KINDS
    names: tuple[str, ...] = ()  # classes or speakers
    percent: float = 0.0  # for kind == "sample"

    @classmethod
    def parse(cls, text: str) -> ForgetSpec:
        kind, sep, rest = text.strip().partition(":")
        if not sep or kind not in KINDS:
            raise ValueError(
                f"cannot read forget spec '{text}'; write class:<names>, speaker:<id> or "
                "sample:<percent>, e.g. class:stop, class:stop,go, speaker:spk07, sample:5"
            )
        if kind == "sample":
            try:
                pct = float(rest)
            except ValueError:
                raise ValueError(f"sample:<percent> needs a number, got '{rest}'") from None
            if not 0 < pct < 100:
                raise ValueError(f"sample percent must be between 0 and 100, got {pct}")
            return cls("sample", (), pct)
        names = tuple(n.strip() for n in rest.split(",") if n.strip())
        if not names:
            raise ValueError(
                f"'{text}' names nothing to forget; e.g. {kind}:{'stop' if kind == 'class' else 'spk07'}"
            )
        return cls(kind, names)

    def __str__(self) -> str:
        if self.kind == "sample":
            return f"sample:{self.percent:g}"
        return f"{self.kind}:{','.join(self.names)}"

    def mode_for(self, task: str) -> str:
        """'sample', 'class' or 'speaker': which settings and objectives the methods use
        (forget_mode)."""
        return forget_mode(self.kind, task)


MODES = ("sample", "class", "speaker")


def forget_mode(kind: str, task: str) -> str:
    """The unlearning mode of a forget request, which picks the methods' defaults and
    objectives:

    - 'sample': a random sample; the gold recognises its clips like any unseen clip of a
      voice it knows;
    - 'class': a class, or a speaker in speaker identification (a speaker is a class
      there); the gold cannot recognise the forgotten clips at all;
    - 'speaker': every clip of one speaker in keyword spotting; the gold still recognises
      the words, as well as it does any voice it never heard (its forget clips should look
      like an unheard speaker's clips, not be misclassified)."""
    if kind == "speaker":
        return "class" if task == "sid" else "speaker"
    return kind


@dataclass
class Split:
    """Positions into a TaskData. forget and retain partition the training clips.

    test_forgotten: bool mask over `test` (test clips of the forgotten classes or
    speaker), None for sample unlearning.
    """

    spec: ForgetSpec
    forget: np.ndarray
    retain: np.ndarray
    val: np.ndarray
    test: np.ndarray
    unheard: np.ndarray
    test_forgotten: np.ndarray | None
    forgotten_classes: tuple[int, ...] = ()
    mode: str = "class"  # forget_mode(spec.kind, task): the methods' settings and objectives

    def sizes(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in ("forget", "retain", "val", "test", "unheard")}


def _check_names(names: tuple[str, ...], valid: list[str], what: str) -> None:
    bad = [n for n in names if n not in valid]
    if bad:
        shown = ", ".join(valid[:60]) + (" ..." if len(valid) > 60 else "")
        raise ValueError(f"unknown {what} {', '.join(repr(b) for b in bad)}; choose from {shown}")


def make_split(task: TaskData, spec: ForgetSpec | str, seed: int = 0) -> Split:
    """Deterministic, disjoint forget / retain / test sets for `spec` on `task`."""
    spec = ForgetSpec.parse(spec) if isinstance(spec, str) else spec
    train, test = task.where("train"), task.where("test")
    classes: tuple[int, ...] = ()
    if spec.kind == "sample":
        rng = np.random.default_rng(seed)
        n = max(1, int(round(spec.percent / 100 * len(train))))
        forget = np.sort(rng.choice(train, size=n, replace=False))
        test_mask = None
    elif spec.kind == "class":
        _check_names(spec.names, task.class_names, "class" if task.task == "kws" else "speaker")
        classes = tuple(task.class_names.index(n) for n in spec.names)
        forget = train[np.isin(task.y[train], classes)]
        test_mask = np.isin(task.y[test], classes)
    else:  # speaker
        spk_names = task.data.speaker_names
        trained = sorted({spk_names[s] for s in task.speaker[train] if s >= 0})
        _check_names(spec.names, trained, "speaker")
        ids = [spk_names.index(n) for n in spec.names]
        forget = train[np.isin(task.speaker[train], ids)]
        test_mask = np.isin(task.speaker[test], ids)
        if task.task == "sid":
            classes = tuple(task.class_names.index(n) for n in spec.names)
    retain = np.setdiff1d(train, forget)
    if len(forget) == 0:
        raise ValueError(f"'{spec}' selects no training clips: nothing to forget")
    if len(retain) == 0:
        raise ValueError(f"'{spec}' selects every training clip: nothing would be retained")
    return Split(
        spec,
        forget,
        retain,
        task.where("val"),
        test,
        task.where("unheard"),
        test_mask,
        classes,
        spec.mode_for(task.task),
    )
