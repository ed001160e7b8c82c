"""Optimisers and learning-rate schedules (``torch.optim`` names and semantics)."""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .nadam import NAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Adagrad", "NAdam", "RMSprop", "Optimizer", "clip_grad_norm_",
           "clip_grad_value_", "lr_scheduler"]
