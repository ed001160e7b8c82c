"""Convolution and pooling over (N, C, H, W) as single graph nodes, by patch extraction ("im2col").

Patches are gathered with strided basic slicing (one slice per kernel offset), so the code is pure
Array API; the backward scatters patch gradients back with slice assignment, which accumulates
overlapping windows correctly. 1-D layers run as 2-D with height 1.
"""
from __future__ import annotations

from ...autograd import Function
from ...backend import describe
from ...tensor import as_tensor


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def _pad(xp, x, ph, pw):
    if not (ph or pw):
        return x
    n, c, h, w = x.shape
    out = xp.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=x.dtype, device=getattr(x, "device", None))
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def _out_size(size, k, s, p):
    return (size + 2 * p - k) // s + 1


def _patches(xp, xp_pad, kh, kw, sh, sw, ho, wo):
    """(kh·kw, N, C, Ho, Wo): the input under each kernel offset."""
    return xp.stack([xp_pad[:, :, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
                     for i in range(kh) for j in range(kw)], axis=0)


def _scatter_patches(xp, gp, shape, kh, kw, sh, sw, ho, wo, dtype, device):
    """Adjoint of ``_patches``: sum each offset's gradient into a zero padded input."""
    out = xp.zeros(shape, dtype=dtype, device=device)
    for idx in range(kh * kw):
        i, j = divmod(idx, kw)
        sl = (slice(None), slice(None), slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw))
        out[sl] = out[sl] + gp[idx, ...]
    return out


class Conv2dFn(Function):
    """y[n, o] = Σ_{c,i,j} W[o, c, i, j] · x_pad[n, c, s·h + i, s·w + j] + b[o] (cross-correlation, as
    PyTorch). With cols = patches as (N, C·kh·kw, Ho·Wo): y = W_flat @ cols; dW = Σ_n g_n colsₙᵀ;
    dcols = W_flatᵀ g, scattered back to x."""

    @staticmethod
    def forward(ctx, x, w, b, stride, padding):
        xp = ctx.xp
        n, c, h, wd = x.shape
        o, _, kh, kw = w.shape
        (sh, sw), (ph, pw) = stride, padding
        ho, wo = _out_size(h, kh, sh, ph), _out_size(wd, kw, sw, pw)
        xpad = _pad(xp, x, ph, pw)
        p = _patches(xp, xpad, kh, kw, sh, sw, ho, wo)  # (K, N, C, Ho, Wo), K = kh·kw
        cols = xp.reshape(xp.permute_dims(p, (1, 2, 0, 3, 4)), (n, c * kh * kw, ho * wo))
        wf = xp.reshape(w, (o, c * kh * kw))
        y = xp.matmul(wf, cols)  # (N, O, Ho·Wo)
        if b is not None:
            y = y + xp.reshape(b, (1, o, 1))
        ctx.save_for_backward(cols, w)
        ctx.meta = (x.shape, xpad.shape, kh, kw, sh, sw, ph, pw, ho, wo, getattr(x, "device", None), x.dtype)
        return xp.reshape(y, (n, o, ho, wo))

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        cols, w = ctx.saved_tensors
        xshape, pshape, kh, kw, sh, sw, ph, pw, ho, wo, device, dtype = ctx.meta
        n, c = xshape[0], xshape[1]
        o = w.shape[0]
        nx, nw, nb = ctx.needs_input_grad[:3]
        g3 = xp.reshape(g, (n, o, ho * wo))
        gw = gb = gx = None
        if nw:
            gw = xp.reshape(xp.sum(xp.matmul(g3, xp.matrix_transpose(cols)), axis=0), w.shape)
        if nb:
            gb = xp.sum(g3, axis=(0, 2))
        if nx:
            gcols = xp.matmul(xp.matrix_transpose(xp.reshape(w, (o, c * kh * kw))), g3)  # (N, C·K, Ho·Wo)
            gp = xp.permute_dims(xp.reshape(gcols, (n, c, kh * kw, ho, wo)), (2, 0, 1, 3, 4))
            gpad = _scatter_patches(xp, gp, pshape, kh, kw, sh, sw, ho, wo, dtype, device)
            gx = gpad[:, :, ph:ph + xshape[2], pw:pw + xshape[3]] if (ph or pw) else gpad
        return gx, gw, gb, None, None


class Pool2dFn(Function):
    """Max or average over kh×kw windows. Max: the gradient goes to the first maximum of each window
    (as PyTorch); average: g/(kh·kw) to every position (padding 0, count_include_pad)."""

    @staticmethod
    def forward(ctx, x, kind, kernel, stride, padding):
        xp = ctx.xp
        (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
        n, c, h, wd = x.shape
        ho, wo = _out_size(h, kh, sh, ph), _out_size(wd, kw, sw, pw)
        if kind == "max" and (ph or pw):
            xpad = xp.full((n, c, h + 2 * ph, wd + 2 * pw), -float("inf"), dtype=x.dtype, device=getattr(x, "device", None))
            xpad[:, :, ph:ph + h, pw:pw + wd] = x
        else:
            xpad = _pad(xp, x, ph, pw)
        p = _patches(xp, xpad, kh, kw, sh, sw, ho, wo)
        ctx.meta = (x.shape, xpad.shape, kh, kw, sh, sw, ph, pw, ho, wo, getattr(x, "device", None), x.dtype, kind)
        if kind == "max":
            idx = xp.argmax(p, axis=0)
            ctx.save_for_backward(idx)
            return xp.max(p, axis=0)
        return xp.mean(p, axis=0)

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        xshape, pshape, kh, kw, sh, sw, ph, pw, ho, wo, device, dtype, kind = ctx.meta
        k = kh * kw
        if kind == "max":
            (idx,) = ctx.saved_tensors
            offsets = xp.reshape(xp.arange(k, dtype=idx.dtype, device=device), (k, 1, 1, 1, 1))
            gp = xp.astype(xp.expand_dims(idx, axis=0) == offsets, dtype) * xp.expand_dims(g, axis=0)
        else:
            gp = xp.broadcast_to(xp.expand_dims(g / k, axis=0), (k,) + tuple(g.shape))
        gpad = _scatter_patches(xp, gp, pshape, kh, kw, sh, sw, ho, wo, dtype, device)
        gx = gpad[:, :, ph:ph + xshape[2], pw:pw + xshape[3]] if (ph or pw) else gpad
        return gx, None, None, None, None


def _as4d(x, name):
    x = as_tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{name}: expected input of shape (N, C, H, W), got {describe(x.data)}")
    return x


def conv2d(x, weight, bias=None, stride=1, padding=0):
    x = _as4d(x, "conv2d")
    if x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d: input has {x.shape[1]} channels, weight expects {weight.shape[1]}")
    return Conv2dFn.apply(x, weight, bias, _pair(stride), _pair(padding))


def conv1d(x, weight, bias=None, stride=1, padding=0):
    """(N, C, L) input as (N, C, 1, L); weight (O, C, k)."""
    x = as_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"conv1d: expected input of shape (N, C, L), got {describe(x.data)}")
    n, c, length = x.shape
    w4 = weight.reshape(weight.shape[0], weight.shape[1], 1, weight.shape[2])
    y = Conv2dFn.apply(x.reshape(n, c, 1, length), w4, bias, (1, stride), (0, padding))
    return y.reshape(y.shape[0], y.shape[1], y.shape[3])


def max_pool2d(x, kernel_size, stride=None, padding=0):
    k = _pair(kernel_size)
    return Pool2dFn.apply(_as4d(x, "max_pool2d"), "max", k, _pair(stride) if stride else k, _pair(padding))


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    k = _pair(kernel_size)
    return Pool2dFn.apply(_as4d(x, "avg_pool2d"), "avg", k, _pair(stride) if stride else k, _pair(padding))


def max_pool1d(x, kernel_size, stride=None, padding=0):
    x = as_tensor(x)
    if x.ndim != 3:
        raise ValueError(f"max_pool1d: expected input of shape (N, C, L), got {describe(x.data)}")
    n, c, length = x.shape
    y = Pool2dFn.apply(x.reshape(n, c, 1, length), "max", (1, kernel_size), (1, stride or kernel_size), (0, padding))
    return y.reshape(y.shape[0], y.shape[1], y.shape[3])
