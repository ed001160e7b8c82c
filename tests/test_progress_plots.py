"""Progress output of fit (bar / notebook / lines) and the figures of a run folder."""
import sys
import types

import numpy as np
import pytest

import xpnet as xn
from xpnet import plotting
from xpnet.train import progress as P

LOGS = {"loss": 12.3456, "accuracy": 0.81234, "val_loss": 0.49812, "val_accuracy": 0.8, "lr": 0.003, "epoch_time": 0.0812}


def test_lines_and_bar_metrics_fit_80_columns_uncut():
    line = P.epoch_line(150, 150, LOGS)
    assert line == "epoch 150/150 loss 12.3456 acc 81.2% | val loss 0.4981 acc 80.0% | lr 0.003"  # time: no room
    assert P.epoch_line(15, 150, {**LOGS, "loss": 0.5}).endswith("| lr 0.003 0.08s")
    assert len(line) <= 80
    post = P.short_metrics(LOGS)
    assert post == "loss 12.346 acc 81.2% val 0.498 80.0% lr 3.0e-03"
    bar = "150/150 |████████| 01:02<00:00 " + post  # BAR_FORMAT at its widest for minutes
    assert len(bar) <= 80


def test_mode_follows_the_streams(monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    p = P.EpochProgress(2)
    assert p.mode == "lines"
    p.update(0, LOGS)
    p.close()
    assert capsys.readouterr().out.startswith("epoch 1/2 loss")
    assert P.EpochProgress(2, enabled=False).mode is None
    assert P.EpochProgress(2, enabled=False, verbose=True).mode == "lines"


def test_notebook_kernel_uses_tqdm_auto(monkeypatch):
    class ZMQInteractiveShell:  # the class name IPython's kernel shell has
        pass

    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: ZMQInteractiveShell()
    monkeypatch.setitem(sys.modules, "IPython", fake)
    assert P.in_notebook()
    p = P.EpochProgress(2)
    assert p.mode == "notebook" and p.bar is not None
    p.update(0, LOGS)
    p.close()
    fake.get_ipython = lambda: None  # IPython imported, but no kernel (e.g. a script)
    assert not P.in_notebook()


def test_fit_prints_one_line_per_epoch_when_not_a_terminal(capsys):
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 4)).astype(np.float32), rng.integers(0, 2, 40)
    xn.manual_seed(0)
    model = xn.nn.Linear(4, 2)
    xn.fit(model, (X, y), optimizer=xn.optim.SGD(model.parameters(), lr=0.1), epochs=3, batch_size=8,
           validation_split=0.25)
    out = capsys.readouterr().out.splitlines()
    assert [l.split()[1] for l in out if l.startswith("epoch")] == ["1/3", "2/3", "3/3"]
    assert all("| val loss" in l for l in out if l.startswith("epoch"))


@pytest.fixture
def captured(monkeypatch):
    if not plotting.available():
        pytest.skip("matplotlib is not installed")
    figs = []
    monkeypatch.setattr(plotting, "_save", lambda fig, path: figs.append(fig))
    monkeypatch.setattr(plotting._pyplot(), "close", lambda fig: None)
    return figs


def _history(scheduled):
    h = xn.History()
    for i in range(6):
        h.append({"loss": 1 / (i + 1), "accuracy": i / 10, "val_loss": 1.2 / (i + 1) + (i == 5), "val_accuracy": i / 11,
                  "lr": 0.01 * (0.5 ** i if scheduled else 1)})
    h.best_epoch = 4
    return h


def test_curves_have_labels_title_best_marker_lr_panel_and_split_names(captured):
    from xpnet.config import load_config

    cfg = load_config("mnist1d_best")
    title = plotting.run_title(cfg, {"test_accuracy": 0.75})
    assert title.startswith("mnist1d-best: mlp 256-256") and "adamw lr 0.003" in title and "cosine" in title
    plotting.plot_history(_history(True), "x.png", title=title, val_label="validation (10% of train)")
    fig = captured[-1]
    axes = fig.axes
    assert [a.get_ylabel() for a in axes] == ["cross-entropy loss", "accuracy", "learning rate"]
    assert fig._suptitle.get_text() == title
    labels = [t.get_text() for t in axes[0].get_legend().get_texts()]
    assert labels == ["train", "validation (10% of train)", "best epoch (5)"]
    assert any(list(l.get_xdata()) == [5] for l in axes[0].lines)  # the marker at the best epoch
    plotting.plot_history(_history(False), "y.png")
    assert len(captured[-1].axes) == 2  # constant learning rate: no lr panel


def test_confusion_matrix_has_counts_and_row_normalised_with_labelled_colour_bars(captured):
    cm = np.array([[8, 2], [1, 9]])
    plotting.plot_confusion(cm, "c.png", title="test split")
    fig = captured[-1]
    images = [a for a in fig.axes if a.images]
    assert len(images) == 2
    np.testing.assert_allclose(images[1].images[0].get_array(), [[0.8, 0.2], [0.1, 0.9]])
    colorbars = [a for a in fig.axes if not a.images]
    assert [c.get_ylabel() for c in colorbars] == ["number of rows", "fraction of the true class"]
    assert images[0].get_xlabel() == "predicted class" and images[0].get_ylabel() == "true class"
