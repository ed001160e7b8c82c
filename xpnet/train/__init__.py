"""Training workflow: fit / evaluate / predict, History, callbacks, checkpoints."""
from .callbacks import Callback, EarlyStopping
from .checkpoint import CheckpointError, load, save
from .history import History
from .loop import NonFiniteLossError, evaluate, fit, predict

__all__ = ["CheckpointError", "NonFiniteLossError", "Callback", "EarlyStopping", "History", "evaluate", "fit", "load", "predict", "save"]
