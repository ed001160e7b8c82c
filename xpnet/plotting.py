"""Training curves and confusion-matrix figures (matplotlib, optional: ``pip install 'xpnet[plot]'``)."""
from __future__ import annotations

import io as _io

from .io import write_atomic


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def available() -> bool:
    return _pyplot() is not None


def _save(fig, path):
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    write_atomic(path, buf.getvalue())


def plot_history(history, path) -> bool:
    """Loss and accuracy per epoch (train and validation) to a PNG; False if matplotlib is missing."""
    plt = _pyplot()
    if plt is None:
        return False
    h = history.history
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key in zip(axes, ("loss", "accuracy")):
        for prefix, style in (("", "-"), ("val_", "--")):
            if prefix + key in h:
                ax.plot(range(1, len(h[prefix + key]) + 1), h[prefix + key], style, label=(prefix or "train_") + key)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    _save(fig, path)
    plt.close(fig)
    return True


def plot_confusion(cm, path, class_names=None) -> bool:
    """A confusion matrix (host array) as a labelled heat map PNG."""
    plt = _pyplot()
    if plt is None:
        return False
    n = len(cm)
    names = class_names or [str(i) for i in range(n)]
    fig, ax = plt.subplots(figsize=(0.6 * n + 2.5, 0.6 * n + 2))
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax)
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = cm.max() if cm.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, int(cm[i][j]), ha="center", va="center", fontsize=8,
                    color="white" if cm[i][j] > top / 2 else "black")
    ax.set_title("confusion matrix (test)")
    _save(fig, path)
    plt.close(fig)
    return True


def plot_bars(rows, path, title, ylabel) -> bool:
    """Grouped bars: ``rows`` is a list of (group, {series: value})."""
    plt = _pyplot()
    if plt is None:
        return False
    series = sorted({k for _, d in rows for k in d})
    fig, ax = plt.subplots(figsize=(max(6, 1.5 * len(rows)), 4))
    width = 0.8 / max(len(series), 1)
    for i, s in enumerate(series):
        xs = [j + i * width for j in range(len(rows))]
        ax.bar(xs, [d.get(s, 0) for _, d in rows], width, label=s)
    ax.set_xticks([j + width * (len(series) - 1) / 2 for j in range(len(rows))], [g for g, _ in rows])
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle="--")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    _save(fig, path)
    plt.close(fig)
    return True
