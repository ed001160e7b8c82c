"""The benchmark harness behind ``xpnet bench``: xpnet vs PyTorch eager vs a hand-written NumPy MLP."""
from .workloads import WORKLOADS, Workload

__all__ = ["WORKLOADS", "Workload"]
