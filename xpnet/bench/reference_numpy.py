# purity: host -- the hand-written NumPy reference MLP of the benchmark (the floor), not engine code
"""A hand-written NumPy MLP: forward and backward written out per layer, no autograd, no graph.

This is what the reports' authors wrote, done carefully: the floor an eager engine can reach on
NumPy. Same layers and optimiser semantics as xpnet/PyTorch (PyTorch BatchNorm, exact GELU via
``scipy.special.erf``, inverted dropout, SGD with momentum/L2 or Adam with L2).
"""
from __future__ import annotations

import math

import numpy as np

try:
    from scipy.special import erf as _erf
except ImportError:  # pragma: no cover
    _erf = np.vectorize(math.erf, otypes=[np.float32])

_INV_SQRT2 = np.float32(1 / math.sqrt(2))
_INV_SQRT_2PI = np.float32(1 / math.sqrt(2 * math.pi))


class RefMLP:
    def __init__(self, layers, weights, rng):
        """``weights``: list of host arrays in xpnet's parameter order (W, b per Linear; γ, β per BN)."""
        self.rng = rng
        it = iter(weights)
        self.layers = self._build(layers, it)
        self.training = True

    def _build(self, specs, it):
        out = []
        for s in specs:
            k = s[0]
            if k == "linear":
                out.append({"k": k, "W": np.array(next(it)), "b": np.array(next(it))})
            elif k == "bn":
                n = s[1]
                out.append({"k": k, "g": np.array(next(it)), "beta": np.array(next(it)),
                            "rm": np.zeros(n, np.float32), "rv": np.ones(n, np.float32)})
            elif k == "residual":
                out.append({"k": k, "sub": self._build(s[1], it)})
            else:
                out.append({"k": k, "a": s[1] if len(s) > 1 else None})
        return out

    def params(self, layers=None):
        for L in self.layers if layers is None else layers:
            if L["k"] == "linear":
                yield L, "W"
                yield L, "b"
            elif L["k"] == "bn":
                yield L, "g"
                yield L, "beta"
            elif L["k"] == "residual":
                yield from self.params(L["sub"])

    def forward(self, x, layers=None):
        for L in self.layers if layers is None else layers:
            k = L["k"]
            if k == "linear":
                L["x"] = x
                x = x @ L["W"].T
                x += L["b"]
            elif k == "bn":
                if self.training:
                    mu = x.mean(0)
                    xc = x - mu
                    var = (xc * xc).mean(0)
                    inv = 1.0 / np.sqrt(var + 1e-5)
                    n = x.shape[0]
                    L["rm"] *= 0.9
                    L["rm"] += 0.1 * mu
                    L["rv"] *= 0.9
                    L["rv"] += (0.1 * n / max(n - 1, 1)) * var
                    xh = xc * inv
                else:
                    inv = 1.0 / np.sqrt(L["rv"] + 1e-5)
                    xh = (x - L["rm"]) * inv
                L["xh"], L["inv"] = xh, inv
                x = xh * L["g"] + L["beta"]
            elif k == "gelu":
                L["x"] = x
                L["cdf"] = cdf = 0.5 * (1.0 + _erf(x * _INV_SQRT2))
                x = x * cdf
            elif k == "relu":
                x = np.maximum(x, 0)
                L["y"] = x
            elif k == "leaky":
                L["pos"] = pos = x > 0
                x = np.where(pos, x, x * np.float32(L["a"]))
            elif k == "dropout":
                if self.training:
                    L["m"] = m = (self.rng.random(x.shape, dtype=np.float32) >= L["a"]) * np.float32(1 / (1 - L["a"]))
                    x = x * m
            elif k == "residual":
                x = self.forward(x, L["sub"]) + x
        return x

    def backward(self, g, layers=None):
        for L in reversed(self.layers if layers is None else layers):
            k = L["k"]
            if k == "linear":
                L["dW"] = g.T @ L["x"]
                L["db"] = g.sum(0)
                g = g @ L["W"]
            elif k == "bn":
                xh = L["xh"]
                L["dg"] = (g * xh).sum(0)
                L["dbeta"] = g.sum(0)
                d = g * L["g"]
                n = g.shape[0]
                g = (L["inv"] / n) * (n * d - d.sum(0) - xh * (d * xh).sum(0))
            elif k == "gelu":
                x = L["x"]
                g = g * (L["cdf"] + x * np.exp(-0.5 * x * x) * _INV_SQRT_2PI)
            elif k == "relu":
                g = g * (L["y"] > 0)
            elif k == "leaky":
                g = np.where(L["pos"], g, g * np.float32(L["a"]))
            elif k == "dropout":
                if self.training:
                    g = g * L["m"]
            elif k == "residual":
                g = self.backward(g, L["sub"]) + g
        return g


_GRAD = {"W": "dW", "b": "db", "g": "dg", "beta": "dbeta"}


def cross_entropy_grad(z, y):
    """Mean softmax cross-entropy of logits z at labels y, and its gradient (p − onehot)/N."""
    z = z - z.max(1, keepdims=True)
    e = np.exp(z)
    s = e.sum(1, keepdims=True)
    p = e / s
    n = z.shape[0]
    loss = float(np.mean(np.log(s[:, 0]) - z[np.arange(n), y]))
    p[np.arange(n), y] -= 1.0
    p /= n
    return loss, p


class RefOptimizer:
    def __init__(self, model, cfg):
        self.model, self.cfg, self.state, self.t = model, cfg, {}, 0

    def step(self):
        c = self.cfg
        lr, wd = c["lr"], c["weight_decay"]
        self.t += 1
        for L, name in self.model.params():
            p, g = L[name], L[_GRAD[name]]
            if wd:
                g = g + wd * p
            key = (id(L), name)
            if c["name"] == "sgd":
                buf = self.state.get(key)
                if buf is None:
                    buf = self.state[key] = g.copy()
                else:
                    buf *= c["momentum"]
                    buf += g
                p -= lr * buf
            else:
                st = self.state.get(key)
                if st is None:
                    st = self.state[key] = (np.zeros_like(p), np.zeros_like(p))
                m, v = st
                m *= 0.9
                m += 0.1 * g
                v *= 0.999
                v += 0.001 * (g * g)
                bc1, bc2 = 1 - 0.9**self.t, 1 - 0.999**self.t
                p -= (lr / bc1) * (m / (np.sqrt(v) / math.sqrt(bc2) + 1e-8))
