"""The layer classes (see :mod:`xpnet.nn` for the public names); each file lists its classes in
``__all__``."""
from . import activation, container, conv, dropout, linear, loss, module, normalization, recurrent, sequence
from .activation import *  # noqa: F401,F403
from .container import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .module import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .sequence import *  # noqa: F401,F403

__all__ = sorted([*activation.__all__, *container.__all__, *conv.__all__, *dropout.__all__, *linear.__all__,
                  *loss.__all__, *module.__all__, *normalization.__all__, *recurrent.__all__, *sequence.__all__])
