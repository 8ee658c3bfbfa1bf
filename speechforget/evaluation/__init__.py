"""Evaluation: accuracies on Df/Dr/Dt, membership-inference attacks, gaps to gold.

Pure numpy/scikit-learn; pass logits and labels as numpy arrays.
"""

from .attacks import forget_vs_test_attack, mia_efficacy, mia_loss_attack
from .metrics import (
    accuracy,
    confidence,
    confusion_matrix,
    log_softmax,
    per_class_accuracy,
    per_sample_ce,
    softmax,
)
from .report import (
    GAP_METRICS,
    MIA_AUC_LEGEND,
    MIA_EFFICACY_LEGEND,
    MIA_LEGEND,
    MODEL_METRICS,
    format_summary,
    gap_to_retrain,
    model_metrics,
    per_class_table,
)

__all__ = [
    "GAP_METRICS",
    "MIA_AUC_LEGEND",
    "MIA_EFFICACY_LEGEND",
    "MIA_LEGEND",
    "MODEL_METRICS",
    "accuracy",
    "confidence",
    "confusion_matrix",
    "forget_vs_test_attack",
    "format_summary",
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
