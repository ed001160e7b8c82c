"""Classification metrics (scikit-learn definitions, zero_division=0) and regression metrics, on the device."""
from .classification import (
    accuracy,
    classification_report,
    confusion_matrix,
    f1_score,
    precision,
    precision_recall_f1,
    recall,
)
from .regression import (
    mean_absolute_error,
    mean_squared_error,
    r2_score,
    regression_report,
    root_mean_squared_error,
)

__all__ = ["accuracy", "classification_report", "confusion_matrix", "f1_score", "precision",
           "precision_recall_f1", "recall", "mean_absolute_error", "mean_squared_error", "r2_score", "regression_report",
           "root_mean_squared_error"]
