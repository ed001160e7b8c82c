"""Recurrent layers RNN, LSTM and GRU with PyTorch's constructor signatures, parameter names, shapes,
gate order and defaults (``num_layers``, ``bias``, ``batch_first``, ``dropout``, ``bidirectional``,
unbatched inputs), composed from the engine's operations so weights load from and compare with
PyTorch directly.

Per layer and direction the input projection of every time step is one matmul, x W_ihᵀ + b_ih over
(L, N, H_in); only the recurrent part h W_hhᵀ + b_hh runs step by step.
"""
from __future__ import annotations

import math

from ...tensor import Tensor, concat
from .. import functional as F
from .. import init as _init
from ..functional.linear import LinearFn
from .linear import check_bool, check_device, empty_parameter, positive_int
from .module import Module


def _sigmoid(x):
    return F.sigmoid(x)


class _RNNBase(Module):
    _gates = 1
    _name = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, device=None, dtype=None, proj_size=0):
        super().__init__()
        name = self._name
        positive_int(name, "input_size", input_size)
        positive_int(name, "hidden_size", hidden_size)
        positive_int(name, "num_layers", num_layers)
        positive_int(name, "proj_size", proj_size, allow_zero=True)
        if proj_size and name != "LSTM":
            raise TypeError(f"{name}: proj_size is an LSTM option, got proj_size={proj_size}")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size must be smaller than hidden_size, got proj_size={proj_size}, "
                             f"hidden_size={hidden_size}")
        check_bool(name, "bias", bias)
        check_bool(name, "batch_first", batch_first)
        check_bool(name, "bidirectional", bidirectional)
        check_device(name, device)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be a number in [0, 1], got {dropout!r}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        self.proj_size = proj_size
        out = proj_size or hidden_size  # the size of h
        g = self._gates * hidden_size
        for layer in range(num_layers):
            fan = input_size if layer == 0 else out * self.num_directions
            for suffix in self._suffixes():
                setattr(self, f"weight_ih_l{layer}{suffix}", empty_parameter((g, fan), dtype, name))
                setattr(self, f"weight_hh_l{layer}{suffix}", empty_parameter((g, out), dtype, name))
                setattr(self, f"bias_ih_l{layer}{suffix}", empty_parameter((g,), dtype, name) if bias else None)
                setattr(self, f"bias_hh_l{layer}{suffix}", empty_parameter((g,), dtype, name) if bias else None)
                if proj_size:
                    setattr(self, f"weight_hr_l{layer}{suffix}", empty_parameter((proj_size, hidden_size), dtype, name))
        self.reset_parameters()

    def _suffixes(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    def reset_parameters(self):
        """Every weight and bias U(−1/√hidden_size, 1/√hidden_size), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            _init.uniform_(p, -bound, bound)

    # -- the recurrence ---------------------------------------------------------------------------
    def _cell(self, gx, st, w_hh, b_hh, w_hr=None):  # pragma: no cover - abstract
        raise NotImplementedError

    def _n_states(self):
        return 1

    def _check_input(self, x):
        name = self._name
        if not isinstance(x, Tensor):
            x = Tensor(x)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: expected input (L, N, {self.input_size}), (N, L, {self.input_size}) with "
                             f"batch_first, or unbatched (L, {self.input_size}), got shape {tuple(x.shape)}")
        w = self.weight_ih_l0
        if x._xp is not w._xp:
            from ...backend import mismatch

            raise mismatch(name, w.data, x.data)
        if x.dtype != w.dtype:
            raise TypeError(f"{name}: input dtype {x.dtype} differs from weight dtype {w.dtype}; convert the data "
                            "(xn.asarray(x, dtype=...)) or the model instead of mixing precisions")
        return x

    def _initial(self, hx, n, unbatched, what="hx", size=None):
        shape = (self.num_layers * self.num_directions, n, size or self.proj_size or self.hidden_size)
        if hx is None:
            w = self.weight_ih_l0
            return Tensor(w._xp.zeros(shape, dtype=w.dtype, device=getattr(w.data, "device", None)))
        if not isinstance(hx, Tensor):
            hx = Tensor(hx)
        want = shape[::2] if unbatched else shape
        if tuple(hx.shape) != want:
            raise ValueError(f"{self._name}: expected {what} of shape {want}, got {tuple(hx.shape)}")
        return hx.reshape(shape) if unbatched else hx

    def _run(self, x, states):
        """x (L, N, H_in); states: list of (num_layers·D, N, H) tensors. Returns output and final states."""
        steps, n = x.shape[0], x.shape[1]
        layer_in = x
        finals = [[] for _ in states]
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(self._suffixes()):
                k = layer * self.num_directions + d
                w_ih, w_hh = getattr(self, f"weight_ih_l{layer}{suffix}"), getattr(self, f"weight_hh_l{layer}{suffix}")
                b_ih, b_hh = getattr(self, f"bias_ih_l{layer}{suffix}"), getattr(self, f"bias_hh_l{layer}{suffix}")
                gx_all = LinearFn.apply(layer_in, w_ih, b_ih)  # (L, N, G·H)
                w_hr = getattr(self, f"weight_hr_l{layer}{suffix}", None)
                st = [s[k, ...] for s in states]
                seq = [None] * steps
                order = range(steps - 1, -1, -1) if d else range(steps)
                for t in order:
                    st = self._cell(gx_all[t, ...], st, w_hh, b_hh, w_hr)
                    seq[t] = st[0].reshape(1, n, st[0].shape[1])
                outs.append(concat(seq, axis=0))
                for f, s in zip(finals, st):
                    f.append(s.reshape(1, n, s.shape[1]))
            layer_in = outs[0] if len(outs) == 1 else concat(outs, axis=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, True)
        return layer_in, [concat(f, axis=0) for f in finals]

    def forward(self, input, hx=None):
        x = self._check_input(input)
        unbatched = x.ndim == 2
        if unbatched:
            x = x.reshape(x.shape[0], 1, x.shape[1])
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        n = x.shape[1]
        if self._n_states() == 2:
            if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError(f"{self._name}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            states = [self._initial(None if hx is None else hx[i], n, unbatched, w, None if i == 0 else self.hidden_size)
                      for i, w in enumerate(("h_0", "c_0"))]
        else:
            states = [self._initial(hx, n, unbatched)]
        out, finals = self._run(x, states)
        if unbatched:
            out = out.reshape(out.shape[0], out.shape[2])
            finals = [f.reshape(f.shape[0], f.shape[2]) for f in finals]
        elif self.batch_first:
            out = out.transpose(1, 0, 2)
        return out, (tuple(finals) if self._n_states() == 2 else finals[0])

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(_RNNBase):
    """Elman RNN (PyTorch ``nn.RNN``): hₜ = act(xₜ W_ihᵀ + b_ih + hₜ₋₁ W_hhᵀ + b_hh), act = tanh or
    relu. Input (L, N, H_in), (N, L, H_in) with ``batch_first``, or unbatched (L, H_in); returns
    (output (L, N, D·H), h_n (D·num_layers, N, H)), D = 2 if ``bidirectional``."""

    _name = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype)
        self.nonlinearity = nonlinearity

    def _cell(self, gx, st, w_hh, b_hh, w_hr=None):
        z = gx + LinearFn.apply(st[0], w_hh, b_hh)
        return [F.tanh(z) if self.nonlinearity == "tanh" else F.relu(z)]

    def extra_repr(self):
        s = super().extra_repr()
        return s + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class LSTM(_RNNBase):
    """Long short-term memory (Hochreiter & Schmidhuber 1997; PyTorch ``nn.LSTM``, gate order i, f, g, o):
    [i f g o] = xₜ W_ihᵀ + b_ih + hₜ₋₁ W_hhᵀ + b_hh; i, f, o = σ(·), g = tanh(·);
    cₜ = f ⊙ cₜ₋₁ + i ⊙ g; hₜ = o ⊙ tanh(cₜ), projected hₜ = W_hr(o ⊙ tanh(cₜ)) when ``proj_size`` > 0
    (Sak et al. 2014). Returns (output, (h_n, c_n))."""

    _gates = 4
    _name = "LSTM"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype,
                         proj_size)

    def _n_states(self):
        return 2

    def _cell(self, gx, st, w_hh, b_hh, w_hr=None):
        h, c = st
        H = self.hidden_size
        z = gx + LinearFn.apply(h, w_hh, b_hh)
        i, f = _sigmoid(z[:, 0:H]), _sigmoid(z[:, H:2 * H])
        g, o = F.tanh(z[:, 2 * H:3 * H]), _sigmoid(z[:, 3 * H:4 * H])
        c = f * c + i * g
        h = o * F.tanh(c)
        return [h if w_hr is None else LinearFn.apply(h, w_hr, None), c]


class GRU(_RNNBase):
    """Gated recurrent unit (Cho et al. 2014; PyTorch ``nn.GRU``, gate order r, z, n):
    r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h. Returns (output, h_n)."""

    _gates = 3
    _name = "GRU"

    def _cell(self, gx, st, w_hh, b_hh, w_hr=None):
        (h,) = st
        H = self.hidden_size
        gh = LinearFn.apply(h, w_hh, b_hh)
        r = _sigmoid(gx[:, 0:H] + gh[:, 0:H])
        z = _sigmoid(gx[:, H:2 * H] + gh[:, H:2 * H])
        n = F.tanh(gx[:, 2 * H:3 * H] + r * gh[:, 2 * H:3 * H])
        return [n + z * (h - n)]


__all__ = ["GRU", "LSTM", "RNN"]
