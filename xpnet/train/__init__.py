"""Training workflow: fit / evaluate / predict, History, callbacks, checkpoints."""
from .callbacks import Callback, EarlyStopping
from .checkpoint import load, save
from .history import History
from .loop import evaluate, fit, predict

__all__ = ["Callback", "EarlyStopping", "History", "evaluate", "fit", "load", "predict", "save"]
