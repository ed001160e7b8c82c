"""Datasets held on the device and a loader that slices batches there."""
from .dataset import ArrayDataset
from .loader import DataLoader

__all__ = ["ArrayDataset", "DataLoader"]
