"""Moved to :mod:`xpnet.config.models`; kept so that old imports keep working."""
from ..config.models import Baseline, build_model  # noqa: F401

__all__ = ["Baseline", "build_model"]
