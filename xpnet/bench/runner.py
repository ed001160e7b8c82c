# purity: host -- benchmark driver: host data, timers and the NumPy reference
"""Interleaved timing of xpnet, PyTorch eager and the hand-written NumPy reference.

Each round runs every implementation once (the order rotates between rounds): one training epoch
over all rows (the last partial batch included) and three inference passes (each a sample). A warm-up epoch and pass
per implementation come first and are not timed. The device is synchronised before each clock read.
"""
from __future__ import annotations

import os
import platform
import resource
import statistics
import time

import numpy as np

from .. import backend as B
from .. import nn
from ..autograd import no_grad
from .reference_numpy import RefMLP, RefOptimizer, cross_entropy_grad
from .workloads import build_xpnet, xpnet_optimizer

INFER_BATCH = 10_000
INFER_PASSES = 3  # timed inference passes per round, one after the other (each one sample)


def _rss_mb() -> float:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


class XpnetImpl:
    name = "xpnet"

    def __init__(self, wl, weights, backend, X, y):
        self.b = B.load(backend) if isinstance(backend, str) else backend
        self.name = f"xpnet-{self.b.name}"
        with B.use_backend(self.b):
            self.model = build_xpnet(wl.layers)
            self.model.load_state_dict({k: w for k, w in zip(self._param_keys(), weights)}, strict=False)
            self.opt = xpnet_optimizer(self.model.parameters(), wl.optimizer)
            self.X, self.y = B.asarray(X, backend=self.b), B.asarray(y, backend=self.b)
        self.bs = wl.batch_size
        self.forward = self.model  # the compiled subclass replaces it with xn.compile(model)

    def _param_keys(self):
        return [k for k, _ in self.model.named_parameters()]

    def train_epoch(self, perm):
        b, xp = self.b, self.b.xp
        model, opt, bs = self.model, self.opt, self.bs
        with B.use_backend(b):
            p = B.asarray(perm, backend=b)
            X, y = xp.take(self.X, p, axis=0), xp.take(self.y, p, axis=0)
            model.train()
            n = X.shape[0]
            for i in range(0, n, bs):
                j = min(i + bs, n)
                loss = nn.functional.cross_entropy(model(X[i:j, ...]), y[i:j])
                opt.zero_grad()
                loss.backward()
                opt.step()
            B.synchronize(b)

    def infer(self):
        with B.use_backend(self.b), no_grad():
            self.model.eval()
            n = self.X.shape[0]
            for i in range(0, n, INFER_BATCH):
                self.forward(self.X[i:min(i + INFER_BATCH, n), ...])
            B.synchronize(self.b)


class XpnetCompiledImpl(XpnetImpl):
    """The same model and loop with ``xn.compile``: the training step traced once and replayed, and
    inference through ``xn.compile(model)``."""

    def __init__(self, wl, weights, backend, X, y):
        super().__init__(wl, weights, backend, X, y)
        self.name += "-compiled"
        from ..compile import compile as xcompile

        model, opt = self.model, self.opt

        def step(xb, yb):
            loss = nn.functional.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

        self.step = xcompile(step, state=(model, opt))
        self.forward = xcompile(model)

    def finish_warm_up(self, perm):
        """Trace and build every plan the timed rounds will use: ``xn.compile`` runs a new shape eagerly
        once, then traces it twice, and the first replay compiles the fused kernels; so the full and the
        last partial batch (seen once per epoch) and the inference batches are called three more times
        here, outside the clock."""
        b, xp, bs = self.b, self.b.xp, self.bs
        with B.use_backend(b):
            p = B.asarray(perm, backend=b)
            X, y = xp.take(self.X, p, axis=0), xp.take(self.y, p, axis=0)
            n = X.shape[0]
            self.model.train()
            starts = sorted({0, n - (n % bs or bs)})
            for _ in range(3):
                for i in starts:
                    self.step(X[i:min(i + bs, n), ...], y[i:min(i + bs, n)])
                self.infer()
        self.step.wait()  # the fused kernels built in the background (xpnet/compile/kernel_builds.py)
        self.forward.wait()
        self.train_epoch(perm)  # numba specialises a fused kernel again on its first replayed epoch

    def train_epoch(self, perm):
        b, xp = self.b, self.b.xp
        bs, step = self.bs, self.step
        with B.use_backend(b):
            p = B.asarray(perm, backend=b)
            X, y = xp.take(self.X, p, axis=0), xp.take(self.y, p, axis=0)
            self.model.train()
            n = X.shape[0]
            for i in range(0, n, bs):
                j = min(i + bs, n)
                step(X[i:j, ...], y[i:j])
            B.synchronize(b)

class TorchImpl:
    def __init__(self, wl, weights, device, X, y):
        from . import torch_peer

        import torch

        self.torch, self.peer, self.device = torch, torch_peer, device
        self.name = f"torch-{device}"
        self.model, self.opt = torch_peer.make(wl.layers, weights, wl.optimizer, device)
        self.X, self.y = torch.as_tensor(X).to(device), torch.as_tensor(y).to(device)
        self.bs = wl.batch_size

    def train_epoch(self, perm):
        torch, F = self.torch, self.torch.nn.functional
        p = torch.as_tensor(perm).to(self.device)
        X, y = self.X.index_select(0, p), self.y.index_select(0, p)
        self.model.train()
        n, bs = X.shape[0], self.bs
        for i in range(0, n, bs):
            loss = F.cross_entropy(self.model(X[i:i + bs]), y[i:i + bs])
            self.opt.zero_grad()
            loss.backward()
            self.opt.step()
        self.peer.synchronize(self.device)

    def infer(self):
        with self.torch.no_grad():
            self.model.eval()
            for i in range(0, self.X.shape[0], INFER_BATCH):
                self.model(self.X[i:i + INFER_BATCH])
        self.peer.synchronize(self.device)


class NumpyRefImpl:
    name = "numpy-handwritten"

    def __init__(self, wl, weights, X, y, seed):
        self.model = RefMLP(wl.layers, weights, np.random.default_rng(seed))
        self.opt = RefOptimizer(self.model, wl.optimizer)
        self.X, self.y, self.bs = X, y, wl.batch_size

    def train_epoch(self, perm):
        X, y = self.X[perm], self.y[perm]
        self.model.training = True
        n, bs = len(X), self.bs
        for i in range(0, n, bs):
            z = self.model.forward(X[i:i + bs])
            _, g = cross_entropy_grad(z, y[i:i + bs])
            self.model.backward(g)
            self.opt.step()

    def infer(self):
        self.model.training = False
        for i in range(0, len(self.X), INFER_BATCH):
            self.model.forward(self.X[i:i + INFER_BATCH])


def _stats(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}


def run_workload(wl, backends, rows, rounds, seed, torch_device, with_torch=True, with_ref=True, progress=None,
                 compiled=True):
    """Time one workload; returns {impl: {"train": stats, "infer": stats}, ...} and RSS samples.
    ``compiled``: also time each xpnet backend with ``xn.compile`` (``xpnet-<backend>-compiled``)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, 128), dtype=np.float32)
    y = rng.integers(0, 10, rows).astype(np.int64)
    with B.use_backend("numpy"):
        B.manual_seed(seed)
        init = build_xpnet(wl.layers)
        weights = [B.to_numpy(p.data).copy() for p in init.parameters()]
    impls = [XpnetImpl(wl, weights, b, X, y) for b in backends]
    if compiled:
        impls += [XpnetCompiledImpl(wl, weights, b, X, y) for b in backends]
    if with_torch:
        impls.append(TorchImpl(wl, weights, torch_device, X, y))
    if with_ref:
        impls.append(NumpyRefImpl(wl, weights, X, y, seed))
    perms = [rng.permutation(rows) for _ in range(rounds + 1)]
    times = {i.name: {"train": [], "infer": []} for i in impls}
    for impl in impls:  # warm-up, not timed
        impl.train_epoch(perms[0])
        impl.infer()
        getattr(impl, "finish_warm_up", lambda perm: None)(perms[0])
        if progress:
            progress(f"{wl.name} warm-up {impl.name}")
    for r in range(rounds):
        order = impls[r % len(impls):] + impls[:r % len(impls)]
        for impl in order:
            t0 = time.perf_counter()
            impl.train_epoch(perms[r + 1])
            t1 = time.perf_counter()
            times[impl.name]["train"].append(t1 - t0)
            for _ in range(INFER_PASSES):  # an inference pass is short: several samples per round
                t2 = time.perf_counter()
                impl.infer()
                times[impl.name]["infer"].append(time.perf_counter() - t2)
            if progress:
                progress(f"{wl.name} round {r + 1}/{rounds} {impl.name}: train {t1 - t0:.3f}s "
                         f"infer {statistics.median(times[impl.name]['infer'][-INFER_PASSES:]):.4f}s")
    out = {name: {k: _stats(v) for k, v in d.items()} for name, d in times.items()}
    # memory: three more xpnet epochs with nothing else running in between; RSS after each
    rss = {}
    for impl in impls:
        if isinstance(impl, XpnetImpl):
            rss[impl.name] = []
            for r in range(3):
                impl.train_epoch(perms[r % len(perms)])
                rss[impl.name].append(_rss_mb())
    return out, rss


def machine_info(torch_device) -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "processor": platform.processor(),
            "cpu_count": os.cpu_count(), "numpy": np.__version__,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                        for d in threadpool_info()]
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    try:
        from . import torch_peer

        info.update(torch_peer.versions())
    except ImportError:
        info["torch"] = None
    if str(torch_device).startswith("cuda"):
        import torch

        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def blas_threads() -> int:
    try:
        from threadpoolctl import threadpool_info

        n = [d["num_threads"] for d in threadpool_info() if d.get("user_api") == "blas"]
        return max(n) if n else os.cpu_count()
    except ImportError:
        return os.cpu_count() or 1
