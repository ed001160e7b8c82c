"""Classification metrics computed on the device (scikit-learn definitions, zero_division=0)."""
from .classification import (
    accuracy,
    classification_report,
    confusion_matrix,
    f1_score,
    precision,
    precision_recall_f1,
    recall,
)

__all__ = ["accuracy", "classification_report", "confusion_matrix", "f1_score", "precision",
           "precision_recall_f1", "recall"]
