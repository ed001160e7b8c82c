"""Dataset loaders returning host NumPy splits (moved to the device by ArrayDataset / fit)."""
from .loaders import Splits, load_csv, load_dataset, load_mnist1d, load_npy_dir, load_npz, make_synthetic

__all__ = ["Splits", "load_csv", "load_dataset", "load_mnist1d", "load_npy_dir", "load_npz", "make_synthetic"]
