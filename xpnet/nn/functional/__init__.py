"""Functional forms of the layers (PyTorch ``torch.nn.functional`` names): one op per layer, holding
the layer's argument checks; each file lists its public names in ``__all__``.

Every module of this package is imported and its ``__all__`` lifted here (:func:`xpnet.nn._collect.collect`),
so a new ``<topic>.py`` file needs no edit of this one.
"""
from .._collect import collect

__all__ = collect(__name__, __path__, globals())
