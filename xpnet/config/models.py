"""Models described by data: a config's [model] table (or a short string) → an ``nn.Module``.

``build_model(spec, in_features, num_classes)`` where ``spec`` is
- ``"baseline"``: the MNIST-1D baseline MLP (Greydanus 2020: in→100 ReLU, h + ReLU(Linear(100,100) h), →10);
- ``"mlp:256,128"``: Linear+ReLU hidden layers of those widths;
- a [model] table (see ``xpnet.config.SCHEMA["model"]``): ``type``, ``hidden`` (widths), ``activation``,
  ``negative_slope``, ``norm`` (none, batchnorm, layernorm), ``norm_after_activation``, ``dropout``,
  ``residual`` (wrap every hidden block whose width equals the previous one in Residual), ``init``;
  ``type = "cnn" | "rnn" | "attention"`` puts a feature extractor (:mod:`xpnet.nn.extractors`, keys
  ``channels``, ``kernel_size``, ``patch``, ``embed_dim``, ``heads``) before the MLP head;
  ``activation = "none"`` is the identity (a linear model, the base of activation ablations).
A hidden block is Linear → norm → activation → dropout (BatchNorm before the nonlinearity, as in
Ioffe & Szegedy 2015, "Batch Normalization", §3.2); with ``norm_after_activation`` Linear →
activation → norm → dropout.
"""
from __future__ import annotations

from .. import nn

ACTIVATIONS = {
    "relu": lambda c: nn.ReLU(),
    "leaky_relu": lambda c: nn.LeakyReLU(c.get("negative_slope", 0.01)),
    "gelu": lambda c: nn.GELU(),
    "gelu_tanh": lambda c: nn.GELU("tanh"),
    "tanh": lambda c: nn.Tanh(),
    "sigmoid": lambda c: nn.Sigmoid(),
    "none": lambda c: nn.Identity(),
}
NORMS = {
    "none": lambda width: [],
    "batchnorm": lambda width: [nn.BatchNorm1d(width)],
    "layernorm": lambda width: [nn.LayerNorm(width)],
}


class Baseline(nn.Module):
    """The MNIST-1D baseline: h₁ = ReLU(W₁x), h₂ = h₁ + ReLU(W₂h₁), y = W₃h₂."""

    def __init__(self, in_features: int = 40, hidden: int = 100, num_classes: int = 10):
        super().__init__()
        self.block = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU())
        self.res = nn.Residual(nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU()))
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x):
        return self.head(self.res(self.block(x)))


def _init(c):
    init = c.get("init", "default")
    return None if init in (None, "default") else init


def _block(i, o, c):
    act_layers = [ACTIVATIONS[c["activation"]](c)]
    norm_layers = NORMS[c["norm"]](o)
    pair = act_layers + norm_layers if c["norm_after_activation"] else norm_layers + act_layers
    layers = [nn.Linear(i, o, init=_init(c))] + pair
    if c["dropout"]:
        layers.append(nn.Dropout(c["dropout"]))
    return nn.Sequential(*layers)


def build_model(spec, in_features: int, num_classes: int) -> nn.Module:
    """The module a [model] table (or ``"baseline"`` / ``"mlp:W1,W2"``) describes, checked first."""
    from .schema import validate

    c = validate({"model": "baseline" if spec is None else spec})["model"]
    if c["type"] == "baseline":
        return Baseline(in_features, c["hidden"][0], num_classes)
    if c["type"] != "mlp":
        return _extractor_model(c, in_features, num_classes)
    return _mlp(c, in_features, num_classes)


def _extractors():
    from ..nn import extractors as E

    return E


# model.type → feature extractor (:mod:`xpnet.nn.extractors`) built from the [model] table and the input width
EXTRACTORS = {
    "cnn": lambda c, n: _extractors().ConvExtractor(n, c["channels"], c["kernel_size"],
                                                     activation=lambda: ACTIVATIONS[c["activation"]](c)),
    "rnn": lambda c, n: _extractors().RNNExtractor(n, c["patch"], c["embed_dim"]),
    "attention": lambda c, n: _extractors().AttentionExtractor(n, c["patch"], c["embed_dim"], c["heads"]),
}


def _extractor_model(c, in_features, num_classes):
    """``cnn``/``rnn``/``attention`` feature extractor (``EXTRACTORS``) + the MLP head."""
    feats = EXTRACTORS[c["type"]](c, in_features)
    return _extractors().WithHead(feats, _mlp(c, feats.out_features, num_classes))


def _mlp(c, in_features, num_classes):
    layers, width = [], in_features
    for h in c["hidden"]:
        block = _block(width, h, c)
        layers.append(nn.Residual(block) if c["residual"] and h == width else block)
        width = h
    layers.append(nn.Linear(width, num_classes, init=_init(c)))
    return nn.Sequential(*layers)
