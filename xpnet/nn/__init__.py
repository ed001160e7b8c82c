"""Layers, losses, initialisers and their functional forms (``torch.nn`` names and semantics).

One path per layer: ``Module.forward`` calls the layer's functional op (``xpnet.nn.functional``),
which holds the argument checks and applies the layer's :class:`~xpnet.autograd.engine.Function`.
:mod:`xpnet.nn.fusion` (the only file that knows about fusion) lets ``Sequential`` run runs of the
library's own layers as one graph node, with the same results.

Adding a layer ``Foo`` touches three files:

1. ``xpnet/nn/functional/<topic>.py``: ``FooFn(Function)`` with ``forward``/``backward`` on raw
   arrays (unless ``foo`` is composed of existing ops) and ``foo(input, ...)``, which checks every
   argument and calls ``FooFn.apply``; add ``"foo"`` to the file's ``__all__``.
2. ``xpnet/nn/modules/<topic>.py``: ``class Foo(Module)``: ``__init__`` checks and stores the
   hyper-parameters (with the functional file's check helpers where the op checks them too) and makes
   the Parameters; ``forward`` returns ``foo(input, ...)``; add ``"Foo"`` to the file's ``__all__``.
3. Its test, ``tests/test_<topic>.py``.

Nothing else: the package inits export every file's ``__all__`` (:mod:`xpnet.nn._collect`), a new
``<topic>.py`` included, and ``xpnet/nn/__init__.py`` needs no edit. A new activation's Function goes
to ``xpnet/autograd/ops_activation.py`` (with the other activation primitives) instead of the
functional file. Fusing the layer (optional) is one entry in :func:`xpnet.nn.fusion._stages`.
"""
from . import functional, init, modules
from .modules import *  # noqa: F401,F403
from .parameter import Parameter

__all__ = [*modules.__all__, "Parameter", "functional", "init"]
