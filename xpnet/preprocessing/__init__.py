"""Preprocessing on the device: scalers fitted on training data, one-hot labels, splits."""
from .encoding import one_hot
from .scalers import MinMaxScaler, StandardScaler
from .split import train_test_split

__all__ = ["MinMaxScaler", "StandardScaler", "one_hot", "train_test_split"]
