"""The layer classes (see :mod:`xpnet.nn` for the public names); each file lists its classes in
``__all__``, lifted here by :func:`xpnet.nn._collect.collect` (a new ``<topic>.py`` needs no edit here)."""
from .._collect import collect

__all__ = sorted(collect(__name__, __path__, globals()))
