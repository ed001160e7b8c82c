"""Convolution and pooling over (N, C, H, W) as single graph nodes, by patch extraction ("im2col").

Patches are gathered with strided basic slicing (one slice per kernel offset, dilated), so the code is
pure Array API; the backward scatters patch gradients back with slice assignment, which accumulates
overlapping windows correctly. 1-D layers run as 2-D with height 1; unbatched inputs (C, H, W) get a
batch axis of one.
"""
from __future__ import annotations

import math

from ...autograd import Function
from ...backend import describe
from ...tensor import Tensor, as_tensor
from .padding import pad as _pad_mode


def _pair(v, name="kernel_size"):
    if isinstance(v, bool):
        raise TypeError(f"{name}: expected an int or a pair of ints, got {v!r}")
    if isinstance(v, int):
        return (v, v)
    t = tuple(v)
    if len(t) != 2 or not all(isinstance(i, int) and not isinstance(i, bool) for i in t):
        raise TypeError(f"{name}: expected an int or a pair of ints, got {v!r}")
    return t


def _pad(xp, x, pads, fill=0.0):
    """Constant padding of the last two axes; ``pads`` = (top, bottom, left, right)."""
    pt, pb, pl, pr = pads
    if not (pt or pb or pl or pr):
        return x
    n, c, h, w = x.shape
    out = xp.full((n, c, h + pt + pb, w + pl + pr), fill, dtype=x.dtype, device=getattr(x, "device", None))
    out[:, :, pt:pt + h, pl:pl + w] = x
    return out


def _out_size(size, k, s, p_total, d=1, ceil=False):
    span = size + p_total - d * (k - 1) - 1
    return (-(-span // s) if ceil else span // s) + 1


def _patches(xp, xp_pad, kh, kw, sh, sw, ho, wo, dh=1, dw=1):
    """(kh·kw, N, C, Ho, Wo): the input under each (dilated) kernel offset."""
    return xp.stack([xp_pad[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]
                     for i in range(kh) for j in range(kw)], axis=0)


def _scatter_patches(xp, gp, shape, kh, kw, sh, sw, ho, wo, dtype, device, dh=1, dw=1):
    """Adjoint of ``_patches``: sum each offset's gradient into a zero padded input."""
    out = xp.zeros(shape, dtype=dtype, device=device)
    for idx in range(kh * kw):
        i, j = divmod(idx, kw)
        sl = (slice(None), slice(None), slice(i * dh, i * dh + sh * (ho - 1) + 1, sh),
              slice(j * dw, j * dw + sw * (wo - 1) + 1, sw))
        out[sl] = out[sl] + gp[idx, ...]
    return out


class Conv2dFn(Function):
    """y[n, o] = Σ_{c∈group(o),i,j} W[o, c, i, j] · x_pad[n, c, s·h + d·i, s·w + d·j] + b[o]
    (cross-correlation, as PyTorch). With cols = patches as (N, G, C/G·kh·kw, Ho·Wo) and W as
    (G, O/G, C/G·kh·kw): y = W @ cols per group; dW = Σ_n g colsᵀ; dcols = Wᵀ g, scattered back to x."""

    @staticmethod
    def forward(ctx, x, w, b, stride, pads, dilation, groups):
        xp = ctx.xp
        n, c, h, wd = x.shape
        o, cg, kh, kw = w.shape
        (sh, sw), (dh, dw), G = stride, dilation, groups
        pt, pb, pl, pr = pads
        ho, wo = _out_size(h, kh, sh, pt + pb, dh), _out_size(wd, kw, sw, pl + pr, dw)
        xpad = _pad(xp, x, pads)
        p = _patches(xp, xpad, kh, kw, sh, sw, ho, wo, dh, dw)  # (K, N, C, Ho, Wo), K = kh·kw
        cols = xp.reshape(xp.permute_dims(p, (1, 2, 0, 3, 4)), (n, G, cg * kh * kw, ho * wo))
        wf = xp.reshape(w, (G, o // G, cg * kh * kw))
        y = xp.reshape(xp.matmul(wf, cols), (n, o, ho * wo))
        if b is not None:
            y = y + xp.reshape(b, (1, o, 1))
        ctx.save_for_backward(cols, w)
        ctx.meta = (x.shape, xpad.shape, kh, kw, sh, sw, pads, ho, wo, getattr(x, "device", None), x.dtype, dh, dw, G)
        return xp.reshape(y, (n, o, ho, wo))

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        cols, w = ctx.saved_tensors
        xshape, pshape, kh, kw, sh, sw, pads, ho, wo, device, dtype, dh, dw, G = ctx.meta
        n, c = xshape[0], xshape[1]
        o, cg = w.shape[0], w.shape[1]
        nx, nw, nb = ctx.needs_input_grad[:3]
        g4 = xp.reshape(g, (n, G, o // G, ho * wo))
        gw = gb = gx = None
        if nw:
            gw = xp.reshape(xp.sum(xp.matmul(g4, xp.matrix_transpose(cols)), axis=0), w.shape)
        if nb:
            gb = xp.sum(xp.reshape(g4, (n, o, ho * wo)), axis=(0, 2))
        if nx:
            wf = xp.reshape(w, (G, o // G, cg * kh * kw))
            gcols = xp.matmul(xp.matrix_transpose(wf), g4)  # (N, G, C/G·K, Ho·Wo)
            gp = xp.permute_dims(xp.reshape(gcols, (n, c, kh * kw, ho, wo)), (2, 0, 1, 3, 4))
            gpad = _scatter_patches(xp, gp, pshape, kh, kw, sh, sw, ho, wo, dtype, device, dh, dw)
            pt, _, pl, _ = pads
            gx = gpad[:, :, pt:pt + xshape[2], pl:pl + xshape[3]]
        return gx, gw, gb, None, None, None, None


class Pool2dFn(Function):
    """Max or average over (dilated) kh×kw windows. Max: the gradient goes to the first maximum of each
    window (as PyTorch); average: g/divisor to every position, divisor = the window's count of padded
    (``count_include_pad``) or real input cells, or ``divisor_override``. ``pads`` = (top, bottom,
    left, right) includes the extra bottom/right cells that ``ceil_mode`` needs."""

    @staticmethod
    def forward(ctx, x, kind, kernel, stride, pads, dilation, sym_pad, count_include_pad, divisor_override,
                out_size):
        xp = ctx.xp
        (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
        n, c, h, wd = x.shape
        ho, wo = out_size
        dev = getattr(x, "device", None)
        xpad = _pad(xp, x, pads, -math.inf if kind == "max" else 0.0)
        p = _patches(xp, xpad, kh, kw, sh, sw, ho, wo, dh, dw)
        ctx.meta = (x.shape, xpad.shape, kh, kw, sh, sw, pads, ho, wo, dev, x.dtype, kind, dh, dw)
        if kind == "max":
            idx = xp.argmax(p, axis=0)
            ctx.save_for_backward(idx)
            return xp.max(p, axis=0)
        if divisor_override:
            div = float(divisor_override)
        else:
            # count map: 1 on the cells that count, pooled the same way (no data read, no host sync)
            ph, pw = sym_pad
            mask = xp.zeros((1, 1) + tuple(xpad.shape[2:]), dtype=x.dtype, device=dev)
            if count_include_pad:
                mask[:, :, :h + 2 * ph, :wd + 2 * pw] = 1.0
            else:
                mask[:, :, ph:ph + h, pw:pw + wd] = 1.0
            div = xp.sum(_patches(xp, mask, kh, kw, sh, sw, ho, wo, dh, dw), axis=0)
        ctx.save_for_backward(div)
        return xp.sum(p, axis=0) / div

    @staticmethod
    def backward(ctx, g):
        xp = ctx.xp
        xshape, pshape, kh, kw, sh, sw, pads, ho, wo, device, dtype, kind, dh, dw = ctx.meta
        k = kh * kw
        if kind == "max":
            (idx,) = ctx.saved_tensors
            offsets = xp.reshape(xp.arange(k, dtype=idx.dtype, device=device), (k, 1, 1, 1, 1))
            gp = xp.astype(xp.expand_dims(idx, axis=0) == offsets, dtype) * xp.expand_dims(g, axis=0)
        else:
            (div,) = ctx.saved_tensors
            gp = xp.broadcast_to(xp.expand_dims(g / div, axis=0), (k,) + tuple(g.shape))
        gpad = _scatter_patches(xp, gp, pshape, kh, kw, sh, sw, ho, wo, dtype, device, dh, dw)
        pt, _, pl, _ = pads
        gx = gpad[:, :, pt:pt + xshape[2], pl:pl + xshape[3]]
        return (gx,) + (None,) * 9


def _batched(x, nd, name):
    """``x`` with a batch axis (unbatched inputs have one axis fewer) and whether one was added."""
    x = as_tensor(x)
    if x.ndim == nd + 1:
        return x.reshape((1,) + tuple(x.shape)), True
    if x.ndim != nd + 2:
        want = "(N, C, L) or (C, L)" if nd == 1 else "(N, C, H, W) or (C, H, W)"
        raise ValueError(f"{name}: expected input of shape {want}, got {describe(x.data)}")
    return x, False


def same_padding(kernel, dilation):
    """PyTorch's padding='same' split per axis: total d·(k−1), the left/top side gets total//2."""
    out = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        out.append((total // 2, total - total // 2))
    return out


def _conv_pads(padding, kernel, dilation, stride, name):
    """(top, bottom, left, right) for 2-D from int/pair/'same'/'valid'."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(f"{name}: padding='same' needs stride 1, got stride={stride}")
            (a, b), (c, d) = same_padding(kernel, dilation)
            return (a, b, c, d)
        raise ValueError(f"{name}: padding must be an int, a tuple, 'same' or 'valid', got {padding!r}")
    ph, pw = _pair(padding, "padding")
    if ph < 0 or pw < 0:
        raise ValueError(f"{name}: padding must be >= 0, got {padding!r}")
    return (ph, ph, pw, pw)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """PyTorch ``F.conv2d`` (plus the layer's ``padding_mode``): input (N, C, H, W) or (C, H, W)."""
    x, unbatched = _batched(x, 2, "conv2d")
    if x.dtype != weight.dtype:
        raise TypeError(f"conv: input dtype {x.dtype} differs from weight dtype {weight.dtype}; convert the data "
                        "(xn.asarray(x, dtype=...)) or the model instead of mixing precisions")
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups <= 0:
        raise ValueError(f"conv2d: groups must be a positive int, got {groups!r}")
    if x.shape[1] != weight.shape[1] * groups:
        raise ValueError(f"conv2d: input has {x.shape[1]} channels, weight expects {weight.shape[1] * groups} "
                         f"({weight.shape[1]} per group × groups={groups})")
    pads = _conv_pads(padding, tuple(weight.shape[2:]), dilation, stride, "conv2d")
    if padding_mode != "zeros" and any(pads):
        pt, pb, pl, pr = pads
        x = _pad_mode(x, (pl, pr, pt, pb), padding_mode)
        pads = (0, 0, 0, 0)
    y = Conv2dFn.apply(x, weight, bias, stride, pads, dilation, groups)
    return y.reshape(tuple(y.shape[1:])) if unbatched else y


def conv1d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """(N, C, L) or (C, L) input as (N, C, 1, L); weight (O, C/groups, k)."""
    x, unbatched = _batched(x, 1, "conv1d")
    n, c, length = x.shape
    w4 = weight.reshape(weight.shape[0], weight.shape[1], 1, weight.shape[2])
    one = lambda v, nm: v[0] if isinstance(v, (tuple, list)) and len(v) == 1 else v
    pad = padding if isinstance(padding, str) else (0, one(padding, "padding"))
    y = conv2d(x.reshape(n, c, 1, length), w4, bias, (1, one(stride, "stride")), pad,
               (1, one(dilation, "dilation")), groups, padding_mode)
    y = y.reshape(y.shape[0], y.shape[1], y.shape[3])
    return y.reshape(tuple(y.shape[1:])) if unbatched else y


def _pool(x, kind, kernel, stride, padding, dilation, ceil_mode, count_include_pad, divisor_override,
          return_indices, name):
    (kh, kw), (ph, pw), (dh, dw) = kernel, padding, dilation
    if ph > kh // 2 or pw > kw // 2:
        raise ValueError(f"{name}: padding must be at most half the kernel size, got padding={padding} for "
                         f"kernel_size={kernel}")
    if min(kh, kw, *stride, dh, dw) <= 0 or ph < 0 or pw < 0:
        raise ValueError(f"{name}: kernel_size, stride and dilation must be positive and padding >= 0, got "
                         f"kernel_size={kernel}, stride={stride}, dilation={dilation}, padding={padding}")
    if divisor_override is not None and (isinstance(divisor_override, bool) or not isinstance(divisor_override, int)
                                         or divisor_override <= 0):
        raise ValueError(f"{name}: divisor_override must be a positive int or None, got {divisor_override!r}")
    h, w = x.shape[2], x.shape[3]
    sizes = []
    for size, k, s, p, d in ((h, kh, stride[0], ph, dh), (w, kw, stride[1], pw, dw)):
        o = _out_size(size, k, s, 2 * p, d, ceil_mode)
        if ceil_mode and (o - 1) * s >= size + p:  # the last window must start inside input or left padding
            o -= 1
        if o <= 0:
            raise ValueError(f"{name}: output size would be {o} for input {tuple(x.shape)} and kernel_size={kernel}")
        sizes.append(o)
    ho, wo = sizes
    extra_h = max(0, (ho - 1) * stride[0] + dh * (kh - 1) + 1 - (h + 2 * ph))
    extra_w = max(0, (wo - 1) * stride[1] + dw * (kw - 1) + 1 - (w + 2 * pw))
    pads = (ph, ph + extra_h, pw, pw + extra_w)
    y = Pool2dFn.apply(x, kind, kernel, stride, pads, dilation, (ph, pw), count_include_pad,
                       divisor_override, (ho, wo))
    if not return_indices:
        return y
    xp = x._xp
    dev = getattr(x.data, "device", None)
    # argmax over the k offsets → flat position in the (unpadded) input plane, as PyTorch
    idx = xp.argmax(_patches(xp, _pad(xp, x.data, pads, -math.inf), kh, kw, stride[0], stride[1], ho, wo, dh, dw),
                    axis=0)
    i, j = idx // kw, idx % kw
    rows = xp.reshape(xp.arange(ho, dtype=i.dtype, device=dev), (ho, 1)) * stride[0] + i * dh - ph
    cols = xp.reshape(xp.arange(wo, dtype=j.dtype, device=dev), (1, wo)) * stride[1] + j * dw - pw
    return y, Tensor(xp.astype(rows * w + cols, xp.int64))


def _pool_args(kernel_size, stride, padding, dilation):
    k = _pair(kernel_size)
    return k, (_pair(stride, "stride") if stride else k), _pair(padding, "padding"), _pair(dilation, "dilation")


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    x, unbatched = _batched(x, 2, "max_pool2d")
    k, s, p, d = _pool_args(kernel_size, stride, padding, dilation)
    out = _pool(x, "max", k, s, p, d, ceil_mode, True, None, return_indices, "max_pool2d")
    return _unbatch(out, unbatched)


def avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    x, unbatched = _batched(x, 2, "avg_pool2d")
    k, s, p, d = _pool_args(kernel_size, stride, padding, 1)
    return _unbatch(_pool(x, "avg", k, s, p, d, ceil_mode, count_include_pad, divisor_override, False,
                          "avg_pool2d"), unbatched)


def _unbatch(out, unbatched, drop_h=False):
    def fix(t):
        if drop_h:
            t = t.reshape(tuple(t.shape[:2]) + (t.shape[3],))
        return t.reshape(tuple(t.shape[1:])) if unbatched else t

    return tuple(fix(t) for t in out) if isinstance(out, tuple) else fix(out)


def _single(v, name):
    if isinstance(v, (tuple, list)):
        if len(v) != 1:
            raise TypeError(f"{name}: expected an int or a 1-tuple, got {v!r}")
        return v[0]
    return v


def max_pool1d(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    x, unbatched = _batched(x, 1, "max_pool1d")
    n, c, length = x.shape
    k = _single(kernel_size, "kernel_size")
    s = _single(stride, "stride") if stride else k
    out = _pool(x.reshape(n, c, 1, length), "max", (1, k), (1, s), (0, _single(padding, "padding")),
                (1, _single(dilation, "dilation")), ceil_mode, True, None, return_indices, "max_pool1d")
    return _unbatch(out, unbatched, drop_h=True)


def avg_pool1d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    x, unbatched = _batched(x, 1, "avg_pool1d")
    n, c, length = x.shape
    k = _single(kernel_size, "kernel_size")
    s = _single(stride, "stride") if stride else k
    out = _pool(x.reshape(n, c, 1, length), "avg", (1, k), (1, s), (0, _single(padding, "padding")), (1, 1),
                ceil_mode, count_include_pad, None, False, "avg_pool1d")
    return _unbatch(out, unbatched, drop_h=True)


__all__ = ["avg_pool2d", "conv1d", "conv2d", "max_pool1d", "max_pool2d"]
