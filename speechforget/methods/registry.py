"""Methods by name: lookup with errors that list the valid names, per-mode default
resolution, `--set` overrides, and Config introspection for the CLI and the UI.

Per-mode defaults are resolved here and only here:

    Config()  ->  method.defaults[mode]  ->  the user's overrides (--set key=value)

A name ending in "+sl" (e.g. "scrub+sl") is the method wrapped in SuperLoss.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterator, Mapping
from typing import Any

from speechforget.config import apply_overrides, field_help
from speechforget.data.splits import MODES
from speechforget.methods.base import Method
from speechforget.methods.superloss import SuperLossConfig, WithSuperLoss

# a mode a method has no tuned defaults for takes those of a related mode
FALLBACK = {"speaker": "sample"}
SL_SUFFIX = "+sl"


class Registry(Mapping):
    """An immutable {name: Method class} mapping built once from the method classes."""

    def __init__(self, *classes: type[Method]) -> None:
        self._methods = {c.name: c for c in classes}
        if len(self._methods) != len(classes):
            raise ValueError("two methods share a name")

    def __getitem__(self, name: str) -> type[Method]:
        return self._methods[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._methods)

    def __len__(self) -> int:
        return len(self._methods)

    def get_method(self, name: str) -> type[Method]:
        """The Method class registered as `name` ('+sl' suffix allowed)."""
        base = name.removesuffix(SL_SUFFIX)
        if base not in self._methods:
            raise ValueError(
                f"unknown method '{name}'; choose one of {', '.join(self._methods)} "
                f"(add '{SL_SUFFIX}' for the SuperLoss variant, e.g. scrub{SL_SUFFIX})"
            )
        return self._methods[base]

    def resolve_config(self, name: str, mode: str, overrides: Mapping[str, Any] | None = None):
        """The method's Config with its `mode` defaults and then `overrides` applied.
        SuperLoss keys (sl_lambda, sl_momentum) are accepted and left to `superloss_config`."""
        cls = self.get_method(name)
        if mode not in MODES:
            raise ValueError(f"unknown unlearning mode '{mode}'; choose one of {', '.join(MODES)}")
        own = {f.name for f in dataclasses.fields(cls.Config)}
        sl = {f.name for f in dataclasses.fields(SuperLossConfig)}
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - own - sl)
        if unknown:
            raise ValueError(
                f"unknown setting '{unknown[0]}' for method '{cls.name}'; choose from "
                f"{', '.join(sorted(own))} (with SuperLoss also {', '.join(sorted(sl))})"
            )
        cfg = apply_overrides(cls.Config(), mode_defaults(cls, mode))
        cfg = apply_overrides(cfg, {k: v for k, v in overrides.items() if k in own})
        _check_choices(cfg)
        return cfg

    def build(
        self,
        name: str,
        mode: str,
        overrides: Mapping[str, Any] | None = None,
        superloss: bool = False,
    ) -> Method:
        """A ready Method instance; wrapped in SuperLoss when asked (or name ends in +sl)."""
        cls = self.get_method(name)
        method = cls(self.resolve_config(name, mode, overrides))
        if superloss or name.endswith(SL_SUFFIX):
            if cls.yields_gold:
                raise ValueError(
                    "SuperLoss re-weights a method's per-sample losses; "
                    f"{cls.name} has none: drop --superloss or '+sl'"
                )
            method = WithSuperLoss(method, superloss_config(overrides))
        return method

    def schema(self, name: str, mode: str) -> list[dict[str, Any]]:
        """One dict per Config field for building widgets: name, type ('int' | 'float' |
        'bool' | 'str'), default (resolved for `mode`), help, and min/max/log if set."""
        cls = self.get_method(name)
        return _schema(cls.Config, self.resolve_config(name, mode))

    def describe(self) -> str:
        """A readable list of the methods, their papers and settings (per mode)."""
        lines = []
        for name, cls in self._methods.items():
            lines += [f"{name:14s} {cls.label} ({cls.paper})"]
            if cls.Config.__doc__ and not cls.Config.__doc__.startswith(cls.Config.__name__):
                lines.append(f"    {cls.Config.__doc__.strip().splitlines()[0]}")
            cfgs = {m: self.resolve_config(name, m) for m in MODES}
            for f in dataclasses.fields(cls.Config):
                vals = {m: getattr(c, f.name) for m, c in cfgs.items()}
                same = len({repr(v) for v in vals.values()}) == 1
                val = (
                    f"{vals['sample']}" if same else " / ".join(f"{m} {v}" for m, v in vals.items())
                )
                lines.append(f"    {f.name:16s} = {val:24s} {f.metadata.get('help', '')}")
        lines.append("")
        lines.append(f"--superloss (or NAME{SL_SUFFIX}) wraps a method in SuperLoss:")
        for row in superloss_schema():
            lines.append(f"    {row['name']:16s} = {row['default']!s:24s} {row['help']}")
        lines.append("override a setting with --set KEY=VALUE")
        return "\n".join(lines)


def mode_defaults(cls: type[Method], mode: str) -> dict[str, Any]:
    """The method's tuned defaults for `mode` (those of FALLBACK[mode] when it has none)."""
    if mode in cls.defaults:
        return cls.defaults[mode]
    return cls.defaults.get(FALLBACK.get(mode, mode), {})


def _check_choices(cfg: Any) -> None:
    for f in dataclasses.fields(cfg):
        choices = f.metadata.get("choices")
        if choices and getattr(cfg, f.name) not in choices:
            raise ValueError(
                f"setting '{f.name}' must be one of {', '.join(choices)}; "
                f"got '{getattr(cfg, f.name)}'"
            )


def superloss_config(overrides: Mapping[str, Any] | None = None) -> SuperLossConfig:
    sl = {f.name for f in dataclasses.fields(SuperLossConfig)}
    return apply_overrides(
        SuperLossConfig(), {k: v for k, v in (overrides or {}).items() if k in sl}
    )


def superloss_schema() -> list[dict[str, Any]]:
    return _schema(SuperLossConfig, SuperLossConfig())


def _schema(cls: type, resolved: Any) -> list[dict[str, Any]]:
    hints = typing.get_type_hints(cls)
    out = []
    for name, meta in field_help(cls).items():
        t = hints[name]
        row = {
            **meta,
            "name": name,
            "default": getattr(resolved, name),
            "type": t.__name__ if isinstance(t, type) else str(t),
        }
        out.append(row)
    return out
