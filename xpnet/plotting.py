# purity: host -- figures are drawn on the host from host arrays
"""Training curves and confusion-matrix figures (matplotlib, optional: ``pip install 'xpnet[plot]'``).

Figures are drawn with the non-interactive ``Agg`` backend and written atomically as PNG files; nothing
is displayed. Every ``plot_*`` returns False (and writes nothing) when matplotlib is missing.
"""
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
    """Whether matplotlib can be imported (the ``plot_*`` functions then draw).

    >>> from xpnet import plotting
    >>> plotting.available()
    True
    """
    return _pyplot() is not None


def _save(fig, path):
    buf = _io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, bbox_inches="tight")
    write_atomic(path, buf.getvalue())


def run_title(cfg: dict, summary: dict | None = None) -> str:
    """``name: model, optimiser lr, batch, schedule`` (and the test accuracy when known) for figure titles.

    >>> from xpnet import plotting
    >>> from xpnet.config import DEFAULTS, apply_overrides
    >>> cfg = apply_overrides(DEFAULTS, {"model.type": "mlp", "model.hidden": [64, 32], "train.lr": 0.003})
    >>> plotting.run_title(cfg, {"test_accuracy": 0.9})
    'run: mlp 64-32 (relu), adam lr 0.003, batch 100  |  test acc 90.0%'
    """
    m, t = cfg["model"], cfg["train"]
    model = "baseline" if m["type"] == "baseline" else "mlp " + "-".join(map(str, m["hidden"]))
    extras = [x for x in (m["activation"] if m["type"] == "mlp" else "", m["norm"] if m["norm"] != "none" else "",
                          f"dropout {m['dropout']:g}" if m["dropout"] else "") if x]
    parts = [model + (f" ({', '.join(extras)})" if extras else ""), f"{t['optimizer']} lr {t['lr']:g}",
             f"batch {t['batch_size']}"]
    if t["scheduler"] != "none":
        parts.append(t["scheduler"])
    if t["weight_decay"]:
        parts.append(f"wd {t['weight_decay']:g}")
    title = f"{cfg.get('name', 'run')}: " + ", ".join(parts)
    if summary and summary.get("test_accuracy") is not None:
        title += f"  |  test acc {summary['test_accuracy']:.1%}"
    return title


def plot_history(history, path, title: str | None = None, val_label: str | None = "validation",
                 lr_panel: bool | None = None) -> bool:
    """Loss, accuracy (train and validation) and, with ``lr_panel`` (default: when the learning rate
    changes), the learning rate per epoch, with a marker at ``history.best_epoch``; False if matplotlib
    is missing. ``val_label`` names the split behind the ``val_*`` columns.

    >>> import os, tempfile, xpnet as xn
    >>> from xpnet import plotting
    >>> history = xn.History()
    >>> for loss, acc in ((1.0, 0.5), (0.6, 0.7)):
    ...     history.append({"loss": loss, "accuracy": acc, "val_loss": loss + 0.1, "val_accuracy": acc - 0.1})
    >>> path = os.path.join(tempfile.mkdtemp(), "curves.png")
    >>> plotting.plot_history(history, path, title="example"), os.path.getsize(path) > 0
    (True, True)
    """
    plt = _pyplot()
    if plt is None:
        return False
    h = history.history
    lrs = h.get("lr", [])
    if lr_panel is None:
        lr_panel = len(set(lrs)) > 1
    panels = [("loss", "cross-entropy loss"), ("accuracy", "accuracy")] + ([("lr", "learning rate")] if lr_panel and lrs else [])
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8))
    best = history.best_epoch
    for ax, (key, ylabel) in zip(axes, panels):
        series = [("", "-", "train")] if key == "lr" else [("", "-", "train"), ("val_", "--", val_label or "validation")]
        for prefix, style, label in series:
            ys = h.get(prefix + key)
            if ys:
                xs = range(1, len(ys) + 1)
                ax.plot(xs, ys, style, label=label if key != "lr" else None)
                if best is not None and best < len(ys) and key != "lr":
                    ax.plot([best + 1], [ys[best]], "o", color=ax.lines[-1].get_color(), markersize=6)
        if best is not None and key != "lr":
            ax.axvline(best + 1, color="grey", linestyle=":", linewidth=1, label=f"best epoch ({best + 1})")
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.set_title(ylabel)
        ax.grid(alpha=0.3)
        if key == "lr":
            ax.set_yscale("log" if min(lrs) > 0 else "linear")
        else:
            ax.legend()
    if title:
        fig.suptitle(title, fontsize=10)
    _save(fig, path)
    plt.close(fig)
    return True


def plot_confusion(cm, path, class_names=None, title: str = "test split") -> bool:
    """A confusion matrix (host array) as two labelled heat maps: counts, and rows normalised to 1
    (each row's diagonal is that class's recall). Returns False if matplotlib is missing.

    >>> import os, tempfile
    >>> from xpnet import plotting
    >>> plotting.plot_confusion([[3, 1], [0, 4]], os.path.join(tempfile.mkdtemp(), "cm.png"), ["cat", "dog"])
    True
    """
    import numpy as np

    plt = _pyplot()
    if plt is None:
        return False
    cm = np.asarray(cm)
    n = len(cm)
    names = class_names or [str(i) for i in range(n)]
    rows = cm.sum(axis=1, keepdims=True)
    norm = cm / np.where(rows == 0, 1, rows)
    size = 0.5 * n + 2.5
    fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
    for ax, data, label, fmt in ((axes[0], cm, "number of rows", lambda v: f"{int(v)}"),
                                 (axes[1], norm, "fraction of the true class", lambda v: f"{v:.2f}")):
        im = ax.imshow(data, cmap="Blues", vmin=0, vmax=None if data is cm else 1)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04).set_label(label)
        ax.set_xticks(range(n), names)
        ax.set_yticks(range(n), names)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        top = data.max() if data.size else 0
        for i in range(n):
            for j in range(n):
                ax.text(j, i, fmt(data[i][j]), ha="center", va="center", fontsize=7,
                        color="white" if data[i][j] > top / 2 else "black")
    axes[0].set_title("confusion matrix: counts")
    axes[1].set_title("row-normalised (recall per class)")
    fig.suptitle(f"confusion matrix ({title})", fontsize=10)
    _save(fig, path)
    plt.close(fig)
    return True


def plot_bars(rows, path, title, ylabel) -> bool:
    """Grouped bars: ``rows`` is a list of (group, {series: value}), with a dashed line at 1 (for
    ratios). Returns False if matplotlib is missing.

    >>> import os, tempfile
    >>> from xpnet import plotting
    >>> rows = [("W1", {"xpnet": 0.57, "ref": 1.30}), ("W2", {"xpnet": 0.46, "ref": 0.89})]
    >>> plotting.plot_bars(rows, os.path.join(tempfile.mkdtemp(), "bars.png"), "time ÷ torch", "ratio")
    True
    """
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
