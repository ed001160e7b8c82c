"""Models described by data (a config table or a short string), for the CLI and configs.

``build_model(spec, in_features, num_classes)`` where ``spec`` is
- ``"baseline"``: the MNIST-1D baseline MLP (in→100 ReLU, h + ReLU(Linear(100,100) h), →10);
- ``"mlp:256,128"``: Linear+ReLU hidden layers of those widths;
- a dict: ``hidden`` (list of widths), ``activation`` (relu, leaky_relu, gelu, gelu_tanh, tanh,
  sigmoid), ``negative_slope``, ``norm`` (none, batchnorm, layernorm), ``dropout`` (p), ``residual``
  (wrap every hidden block whose width equals the previous one in Residual), ``norm_after_activation``,
  ``init`` (an
  ``xn.nn.init`` name, default PyTorch's); ``type``: ``mlp`` (default), ``baseline``, or a feature
  extractor before the MLP head (``cnn`` with ``channels``/``kernel_size``, ``rnn`` and ``attention``
  with ``patch``/``embed_dim``/``heads``: :mod:`xpnet.nn.extractors`); ``activation = "none"`` for none.
A hidden block is Linear → norm → activation → dropout (report 000 §2.12); with
``norm_after_activation`` Linear → activation → norm → dropout (report 002).
"""
from __future__ import annotations

from .. import nn

_ACTIVATIONS = {
    "relu": lambda c: nn.ReLU(),
    "leaky_relu": lambda c: nn.LeakyReLU(c.get("negative_slope", 0.01)),
    "gelu": lambda c: nn.GELU(),
    "gelu_tanh": lambda c: nn.GELU("tanh"),
    "tanh": lambda c: nn.Tanh(),
    "sigmoid": lambda c: nn.Sigmoid(),
    "none": lambda c: nn.Identity(),
}
_KEYS = {"hidden", "activation", "negative_slope", "norm", "norm_after_activation", "dropout", "residual", "init", "type",
         "channels", "kernel_size", "patch", "embed_dim", "heads"}
_TYPES = ("mlp", "baseline", "cnn", "rnn", "attention")


class Baseline(nn.Module):
    """The MNIST-1D baseline: h₁ = ReLU(W₁x), h₂ = h₁ + ReLU(W₂h₁), y = W₃h₂."""

    def __init__(self, in_features: int = 40, hidden: int = 100, num_classes: int = 10):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU())
        self.res = nn.Residual(nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU()))
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x):
        return self.head(self.res(self.block(x)))


def _block(i, o, c):
    norm = c.get("norm", "none")
    if norm == "batchnorm":
        norm_layers = [nn.BatchNorm1d(o)]
    elif norm == "layernorm":
        norm_layers = [nn.LayerNorm(o)]
    elif norm in ("none", None):
        norm_layers = []
    else:
        raise ValueError(f"model.norm: expected 'none', 'batchnorm' or 'layernorm', got {norm!r}")
    act = c.get("activation", "relu")
    if act not in _ACTIVATIONS:
        raise ValueError(f"model.activation: expected one of {sorted(_ACTIVATIONS)}, got {act!r}")
    act_layers = [_ACTIVATIONS[act](c)]
    pair = act_layers + norm_layers if c.get("norm_after_activation") else norm_layers + act_layers
    layers = [nn.Linear(i, o, init=c.get("init"))] + pair
    if c.get("dropout", 0.0):
        layers.append(nn.Dropout(c["dropout"]))
    return nn.Sequential(*layers)


def build_model(spec, in_features: int, num_classes: int) -> nn.Module:
    if spec in (None, "baseline"):
        return Baseline(in_features, 100, num_classes)
    if isinstance(spec, str):
        if not spec.startswith("mlp:"):
            raise ValueError(f"model: expected 'baseline', 'mlp:W1,W2,...' or a table, got {spec!r}")
        try:
            widths = [int(w) for w in spec[4:].split(",") if w]
        except ValueError:
            raise ValueError(f"model: widths in {spec!r} must be integers") from None
        spec = {"hidden": widths}
    unknown = set(spec) - _KEYS
    if unknown:
        raise KeyError(f"model: unknown keys {sorted(unknown)}; expected some of {sorted(_KEYS)}")
    kind = spec.get("type", "mlp")
    if kind not in _TYPES:
        raise ValueError(f"model.type: expected one of {list(_TYPES)}, got {kind!r}")
    if kind == "baseline":
        return Baseline(in_features, spec.get("hidden", [100])[0], num_classes)
    if kind != "mlp":
        return _extractor_model(kind, spec, in_features, num_classes)
    return _mlp(spec, in_features, num_classes)


def _extractor_model(kind, spec, in_features, num_classes):
    """``cnn``/``rnn``/``attention`` feature extractor (xpnet.nn.extractors) + the MLP head."""
    from . import extractors as E

    act = _ACTIVATIONS.get(spec.get("activation", "relu"))
    if kind == "cnn":
        feats = E.ConvExtractor(in_features, spec.get("channels", [16, 32]), spec.get("kernel_size", 5),
                                activation=None if act is None else (lambda: act(spec)))
    elif kind == "rnn":
        feats = E.RNNExtractor(in_features, spec.get("patch", 4), spec.get("embed_dim", 64))
    else:
        feats = E.AttentionExtractor(in_features, spec.get("patch", 4), spec.get("embed_dim", 32), spec.get("heads", 4))
    return E.WithHead(feats, _mlp(spec, feats.out_features, num_classes))


def _mlp(spec, in_features, num_classes):
    layers, width = [], in_features
    for h in spec.get("hidden", []):
        block = _block(width, h, spec)
        layers.append(nn.Residual(block) if spec.get("residual") and h == width else block)
        width = h
    layers.append(nn.Linear(width, num_classes, init=spec.get("init")))
    return nn.Sequential(*layers)
