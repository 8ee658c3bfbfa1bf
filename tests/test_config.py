"""Typed configs and --set overrides."""

import pytest

from speechforget.config import ExperimentConfig, TrainConfig, apply_overrides, field_help


def test_overrides_cast_and_validate():
    cfg = apply_overrides(TrainConfig(), {"epochs": "3", "lr": "0.01", "time_budget_s": "none"})
    assert cfg.epochs == 3 and cfg.lr == 0.01 and cfg.time_budget_s is None
    assert TrainConfig().epochs != 3  # the original object is untouched
    with pytest.raises(ValueError, match="unknown setting 'epoch'.*choose from .*epochs"):
        apply_overrides(TrainConfig(), {"epoch": "3"})
    with pytest.raises(ValueError, match="cannot read 'x' as int"):
        apply_overrides(TrainConfig(), {"epochs": "x"})


def test_field_help_has_help_text():
    info = field_help(TrainConfig)
    assert info["lr"]["help"] and info["lr"]["default"] == TrainConfig().lr
    assert "help" in field_help(ExperimentConfig)["forget"]
