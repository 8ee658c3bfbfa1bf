"""What every handler of the app shares, passed to each explicitly: the session store,
the context provider (data set + original model per task, backbone and data source),
the runner of a run's phases (here, or on ZeroGPU), the hyper-parameter widgets'
schema and the app's settings. No Gradio here.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from speechforget import clip_check
from speechforget.config import DataConfig, default_backbone
from speechforget.pipeline import Context, prepare
from speechforget.runs import LocalRunner, Runner
from speechforget.ui import controls
from speechforget.ui.state import SessionStore

ContextProvider = Callable[[str, str, str], Context]  # (task, backbone, data source)


def default_contexts(task: str, backbone: str, data: str = "synthetic") -> Context:
    """The data set and original model (cached per process by pipeline.prepare): the
    built-in data and shipped originals unless another backbone or data set is picked."""
    from speechforget.models.registry import builtin

    offline_backbone = builtin(backbone) is not None  # cnn, ge2e, ge2e-ft: no download
    if not offline_backbone or controls.needs_hub(data):
        from speechforget.models.hub import hub_reachable

        if not hub_reachable(timeout=2.0):
            what = f"backbone '{backbone}'" if not offline_backbone else f"data set '{data}'"
            raise ValueError(
                f"{what} needs the Hugging Face Hub, which cannot be reached from "
                f"this server (offline). {controls.OFFLINE_HELP}"
            )
    try:
        return prepare(task, backbone, DataConfig(source=data))
    except ValueError:
        raise
    except Exception as err:  # download, checkpoint or memory problems: say what happened
        raise ValueError(
            f"could not load backbone '{backbone}' on data '{data}' for {task}: {err}"
        ) from err


@dataclass(frozen=True)
class Settings:
    umap_wait_s: float = 1.0  # how long a run's embedding map waits for UMAP's warm-up
    # ... and for UMAP's fit (~2 s on 2 cores); then PCA, and the map event redraws it
    # when the fit is done: a run holds the shared train queue, and a class of visitors
    # waiting behind it should not wait for each other's maps
    umap_fit_wait_s: float = 0.5
    projection: str = "auto"  # auto (UMAP once warmed up, else PCA) | umap | pca


@dataclass
class AppContext:
    """The handlers' shared context (see the module docstring)."""

    contexts: ContextProvider = default_contexts
    store: SessionStore = field(default_factory=SessionStore)
    runner: Runner = field(default_factory=LocalRunner)
    settings: Settings = field(default_factory=Settings)
    params: list[controls.Param] = field(default_factory=lambda: controls.all_params("class"))
    # {id(ctx): (weak ref to ctx, the original's per-clip losses there)}
    _original_losses: dict[int, tuple[weakref.ref, np.ndarray]] = field(
        default_factory=dict, repr=False
    )

    def context(self, task: str, backbone: str | None = None, data: str = "synthetic"):
        """The pipeline Context for a task (ValueError with a message when it cannot load);
        without a backbone, the task's default one."""
        return self.contexts(task, backbone or default_backbone(task), data or "synthetic")

    def original_losses(self, ctx: Context) -> np.ndarray:
        """(M,) per-clip CE of the original model on `ctx`'s clips, computed once per context
        (an uploaded clip's membership score is judged against them)."""
        ref, losses = self._original_losses.get(id(ctx), (None, None))
        if ref is None or ref() is not ctx:
            losses = clip_check.original_losses(ctx)
            self._original_losses[id(ctx)] = (weakref.ref(ctx), losses)
        return losses
