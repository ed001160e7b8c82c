"""Image augmentation on the device, batch at a time, from the backend generator: horizontal flips and
padded random crops for CIFAR-style data (torchvision's ``RandomHorizontalFlip``, ``RandomCrop`` and
``Compose``, applied to a whole batch with one random draw per image). Inputs (N, C, H, W)."""
from __future__ import annotations

from ..backend import backend_of, describe
from ..backend.random import uniform
from ..autograd.engine import data_of


def _images(x, name):
    data = data_of(x)
    if data.ndim != 4:
        raise ValueError(f"{name}: expected images of shape (N, C, H, W), got {describe(data)}")
    return data


class RandomHorizontalFlip:
    """Mirror each image left–right with probability ``p`` (torchvision ``RandomHorizontalFlip``).

    Args:
        p: probability of flipping each image, in [0, 1].

    Shape:
        input (N, C, H, W) backend array; output the same shape, dtype and device.

    >>> import numpy as np, xpnet as xn
    >>> from xpnet.preprocessing import RandomHorizontalFlip
    >>> images = xn.asarray(np.arange(6, dtype="float32").reshape(1, 1, 2, 3))
    >>> print(xn.to_numpy(RandomHorizontalFlip(p=1.0)(images))[0, 0])
    [[2. 1. 0.]
     [5. 4. 3.]]
    """

    def __init__(self, p: float = 0.5):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p: expected a probability in [0, 1], got {p}")
        self.p = p

    def __call__(self, x):
        x = _images(x, "RandomHorizontalFlip")
        b = backend_of(x)
        xp = b.xp
        flip = uniform((x.shape[0],), dtype=x.dtype, backend=b) < self.p
        mirrored = xp.flip(x, axis=3)
        return xp.where(xp.reshape(flip, (-1, 1, 1, 1)), mirrored, x)


class RandomCrop:
    """Zero-pad by ``padding`` on every side, then cut a ``size`` window at a random offset per image
    (torchvision ``RandomCrop(size, padding)``, one offset per image of the batch).

    Args:
        size: crop height and width, an int or (h, w).
        padding: zeros added on every side before cropping.

    Shape:
        input (N, C, H, W); output (N, C, h, w).

    >>> import numpy as np, xpnet as xn
    >>> from xpnet.preprocessing import RandomCrop
    >>> images = xn.asarray(np.ones((4, 3, 8, 8), dtype="float32"))
    >>> RandomCrop(8, padding=2)(images).shape
    (4, 3, 8, 8)
    """

    def __init__(self, size, padding: int = 0):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.padding = padding

    def __call__(self, x):
        x = _images(x, "RandomCrop")
        b = backend_of(x)
        xp, dev = b.xp, getattr(x, "device", None)
        n, c, h, w = x.shape
        p, (sh, sw) = self.padding, self.size
        if sh > h + 2 * p or sw > w + 2 * p:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the padded image {(h + 2 * p, w + 2 * p)}")
        padded = xp.zeros((n, c, h + 2 * p, w + 2 * p), dtype=x.dtype, device=dev)
        padded[:, :, p:p + h, p:p + w] = x
        # per-image offsets in 0..(H + 2p − size), drawn as floor(u·(range + 1))
        oh = xp.astype(xp.floor(uniform((n,), dtype="float64", backend=b) * (h + 2 * p - sh + 1)), xp.int64)
        ow = xp.astype(xp.floor(uniform((n,), dtype="float64", backend=b) * (w + 2 * p - sw + 1)), xp.int64)
        rows = xp.reshape(oh, (n, 1, 1, 1)) + xp.reshape(xp.arange(sh, dtype=xp.int64, device=dev), (1, 1, sh, 1))
        rows = xp.broadcast_to(rows, (n, c, sh, w + 2 * p))
        cut = xp.take_along_axis(padded, rows, axis=2)
        cols = xp.reshape(ow, (n, 1, 1, 1)) + xp.reshape(xp.arange(sw, dtype=xp.int64, device=dev), (1, 1, 1, sw))
        cols = xp.broadcast_to(cols, (n, c, sh, sw))
        return xp.take_along_axis(cut, cols, axis=3)


class Compose:
    """Apply transforms in order (torchvision ``Compose``).

    >>> import numpy as np, xpnet as xn
    >>> from xpnet.preprocessing import Compose, RandomCrop, RandomHorizontalFlip
    >>> augment = Compose([RandomHorizontalFlip(), RandomCrop(32, padding=4)])
    >>> augment(xn.asarray(np.zeros((2, 3, 32, 32), dtype="float32"))).shape
    (2, 3, 32, 32)
    """

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x
