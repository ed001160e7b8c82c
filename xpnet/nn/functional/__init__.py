"""Functional forms of the layers (PyTorch ``torch.nn.functional`` names): one op per layer, holding
the layer's argument checks; each file lists its public names in ``__all__``."""
from . import activation, conv, dropout as _dropout, linear as _linear, loss, normalization, sparse
from .activation import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .sparse import *  # noqa: F401,F403

__all__ = [*activation.__all__, *conv.__all__, *_dropout.__all__, *_linear.__all__, *loss.__all__,
           *normalization.__all__, *sparse.__all__]
