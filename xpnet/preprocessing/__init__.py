"""Preprocessing on the device: scalers fitted on training data, one-hot labels, splits."""
from .augment import Compose, RandomCrop, RandomHorizontalFlip
from .encoding import one_hot
from .scalers import MinMaxScaler, StandardScaler
from .split import train_test_split

__all__ = ["Compose", "RandomCrop", "RandomHorizontalFlip", "MinMaxScaler", "StandardScaler", "one_hot", "train_test_split"]
