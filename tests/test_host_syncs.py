"""Zero host synchronisations inside a training step, proven on two trap namespaces:

- the CuPy stand-in (xpnet's real cupy code path; every device→host read — ``get``, ``item``,
  ``float``, ``int``, ``bool``, ``tolist`` — is counted, and inside ``COUNTERS.trapping()`` raises);
- PyTorch tensors with their read methods trapped and xpnet told they live on a device (as on CUDA),
  so host-only checks that would synchronise there are off.

W1–W3 (the benchmark workloads) take steps — forward, loss, zero_grad, backward, gradient clipping,
optimiser step, batches from a shuffling DataLoader — with no read. ``fit`` reads only at epoch ends
and where data enters: its read count does not depend on the number of steps, and each further epoch
adds the same few reads (loss and accuracy, plus the same for validation). A planted per-step read
(the label range check turned on for device arrays) is caught.
"""
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from xpnet.bench import cupy_standin
from xpnet.bench.workloads import WORKLOADS, build_xpnet, xpnet_optimizer

ROOT = pathlib.Path(__file__).resolve().parents[1]
STANDIN = cupy_standin.installed()


def _data(n, seed=0):
    r = np.random.default_rng(seed)
    return r.standard_normal((n, 128)).astype(np.float32), r.integers(0, 10, n).astype(np.int64)


def _steps(wl, n_steps, trap, reset=lambda: None):
    """Warm-up steps, then ``reset()`` and ``n_steps`` steps inside ``trap`` (a context manager)."""
    model = build_xpnet(wl.layers)
    opt = xpnet_optimizer(model.parameters(), wl.optimizer)
    X, y = _data(4 * wl.batch_size)
    loader = xn.data.DataLoader(xn.data.ArrayDataset(X, y), batch_size=wl.batch_size, shuffle=True, seed=0)

    def step(xb, yb):
        loss = nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    for xb, yb in loader:  # warm-up: flat buffers, caches, kernels
        step(xb, yb)
    reset()
    with trap():
        for _ in range(n_steps):
            for xb, yb in loader:
                loss = step(xb, yb)
    return loss


# -- the CuPy stand-in -------------------------------------------------------------------------------
if not STANDIN:  # the suite runs on a real GPU: run this file on the stand-in in a subprocess
    def test_host_syncs_on_the_standin_in_a_subprocess():
        env = dict(os.environ, XPNET_CUPY_STANDIN="1",
                   PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", __file__],
                           capture_output=True, text=True, env=env, cwd=ROOT, timeout=600)
        assert r.returncode == 0, r.stdout[-3000:]
else:
    @pytest.fixture
    def standin():
        b = xn.backend.load("cupy")
        assert type(b.native).__name__ == "module" and cupy_standin.installed()
        xn.manual_seed(0)
        with xn.use_backend(b):
            yield b
        cupy_standin.COUNTERS.trap = False

    @pytest.mark.parametrize("name", ["W1", "W2", "W3"])
    def test_training_steps_read_nothing_on_the_standin(standin, name):
        C = cupy_standin.COUNTERS
        loss = _steps(WORKLOADS[name], 2, C.trapping, C.reset)
        assert C.n_reads == 0, C.read_sites[:3]
        assert np.isfinite(loss.item()) and C.n_reads == 1  # the counter works: one read, counted

    def test_fit_reads_once_per_epoch_on_the_standin(standin):
        C = cupy_standin.COUNTERS

        def reads(epochs, rows, validation=False):
            model = build_xpnet(WORKLOADS["W3"].layers)
            opt = xpnet_optimizer(model.parameters(), WORKLOADS["W3"].optimizer)
            X, y = _data(rows)
            val = _data(64, seed=1) if validation else None
            C.reset()
            xn.fit(model, (X, y), optimizer=opt, epochs=epochs, batch_size=32, validation=val, progress=False)
            return C.n_reads, list(C.reads.elements())

        one, _ = reads(1, 128)          # 4 steps
        one_long, _ = reads(1, 512)     # 16 steps: same reads
        two, names = reads(2, 128)
        assert one_long == one, "fit reads from the device per step"
        per_epoch = two - one
        assert 1 <= per_epoch <= 2, names  # the epoch's mean loss and accuracy
        two_val, _ = reads(2, 128, validation=True)
        one_val, _ = reads(1, 128, validation=True)
        assert 1 <= (two_val - one_val) - per_epoch <= 2  # validation loss and accuracy

    def test_a_planted_per_step_read_is_caught(standin, monkeypatch):
        from xpnet.nn.functional import loss as loss_mod

        monkeypatch.setattr(loss_mod, "on_host", lambda x: True)  # label range read every step
        C = cupy_standin.COUNTERS
        with pytest.raises(AssertionError, match="device→host read"):
            _steps(WORKLOADS["W2"], 1, C.trapping)


# -- PyTorch tensors behind a trap ---------------------------------------------------------------------
torch = pytest.importorskip("torch")
_READS = ("item", "tolist", "numpy", "__bool__", "__float__", "__int__", "__index__", "__array__")


class TorchTrap:
    """torch.Tensor's read methods replaced by ones that record (or raise inside ``trapping``)."""

    def __init__(self, monkeypatch):
        self.reads, self.trap = [], False
        for name in _READS:
            orig = getattr(torch.Tensor, name)
            monkeypatch.setattr(torch.Tensor, name, self._wrap(name, orig))
        # as on CUDA: xpnet's host-only checks (free on the CPU) must be off on a device
        from xpnet.backend import devices
        from xpnet.nn.functional import loss as loss_mod
        from xpnet.nn.functional import sparse as sparse_mod  # Embedding's index check

        device_like = lambda x, _orig=devices.on_host: False if type(x).__module__.startswith("torch") else _orig(x)
        for mod in (devices, loss_mod, sparse_mod):
            monkeypatch.setattr(mod, "on_host", device_like)

    def _wrap(self, name, orig):
        def f(t, *a, **k):
            if self.trap:
                raise AssertionError(f"device→host read (torch.Tensor.{name}) where none is allowed")
            self.reads.append(name)
            return orig(t, *a, **k)
        return f

    def trapping(self):
        import contextlib

        @contextlib.contextmanager
        def cm():
            self.trap = True
            try:
                yield self
            finally:
                self.trap = False
        return cm()


@pytest.fixture
def torch_trap(monkeypatch):
    xn.manual_seed(0)
    trap = TorchTrap(monkeypatch)
    with xn.use_backend("torch"):
        yield trap


@pytest.mark.parametrize("name", ["W1", "W2", "W3"])
def test_training_steps_read_nothing_on_trapped_torch(torch_trap, name):
    _steps(WORKLOADS[name], 2, torch_trap.trapping)


def test_a_planted_read_is_caught_on_trapped_torch(torch_trap, monkeypatch):
    from xpnet.nn.functional import loss as loss_mod

    monkeypatch.setattr(loss_mod, "on_host", lambda x: True)
    with pytest.raises(AssertionError, match="device→host read"):
        _steps(WORKLOADS["W1"], 1, torch_trap.trapping)
