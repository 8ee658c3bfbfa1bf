"""Evaluation: accuracies on Df/Dr/Dt, membership-inference attacks, gaps to gold
(the report that carries them: speechforget.report).

Pure numpy/scikit-learn; pass logits and labels as numpy arrays.
"""

from .attacks import forget_vs_test_attack, member_probability, mia_efficacy, mia_loss_attack
from .metrics import (
    accuracy,
    confidence,
    confusion_matrix,
    log_softmax,
    per_class_accuracy,
    per_sample_ce,
    softmax,
)
from .scores import (
    GAP_METRICS,
    MODEL_METRICS,
    added_metrics,
    attack_positions,
    gap_to_retrain,
    model_metrics,
    per_class_table,
)

__all__ = [
    "GAP_METRICS",
    "MODEL_METRICS",
    "accuracy",
    "added_metrics",
    "attack_positions",
    "confidence",
    "confusion_matrix",
    "forget_vs_test_attack",
    "member_probability",
    "gap_to_retrain",
    "log_softmax",
    "mia_efficacy",
    "mia_loss_attack",
    "model_metrics",
    "per_class_accuracy",
    "per_class_table",
    "per_sample_ce",
    "softmax",
]
