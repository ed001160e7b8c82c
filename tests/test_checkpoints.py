"""Checkpoints: crafted invalid files get one error type naming the file; loading is all-or-nothing;
a SIGKILL during a save leaves no litter after the next save; fit(checkpoint=...) + fit(resume=...)
in a new process continue bitwise."""
from __future__ import annotations

import io
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim
from helpers import host

HERE = pathlib.Path(__file__).parent
ROOT = HERE.parent


def _model():
    xn.manual_seed(0)
    with xn.use_backend("numpy"):
        return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def _npy(a) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(a), allow_pickle=True)
    return buf.getvalue()


def _members(path) -> list:
    """(name, bytes) of a real checkpoint, in order."""
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i)) for i in z.infolist()]


def _meta(members) -> dict:
    return json.loads(bytes(np.load(io.BytesIO(dict(members)["__meta__.npy"]))).decode())


def _with_meta(members, meta) -> list:
    raw = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    return [(n, _npy(raw) if n == "__meta__.npy" else b) for n, b in members]


def _replace(members, name, array) -> list:
    return [(n, _npy(array) if n == name else b) for n, b in members]


def _write(path, members, compression=zipfile.ZIP_STORED):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicated names on purpose
        with zipfile.ZipFile(path, "w", compression=compression) as z:
            for name, data in members:
                z.writestr(name, data)
    return path


@pytest.fixture
def good(tmp_path):
    m = _model()
    opt = optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
    nn.functional.cross_entropy(m(xn.asarray(np.ones((4, 3)))), xn.asarray(np.array([0, 1, 0, 1]))).backward()
    opt.step()
    path = xn.save(m, tmp_path / "good.npz", optimizer=opt, epoch=3)
    return path, _members(path)


def _w(m, k):
    """A weight array like member ``k`` but with another content."""
    return np.load(io.BytesIO(dict(m)[k]))


def _craft(name, tmp, members):
    if name == "garbage":
        p = tmp / "x.npz"
        p.write_bytes(b"this is not a zip" * 10)
        return p
    if name == "empty-file":
        p = tmp / "x.npz"
        p.write_bytes(b"")
        return p
    if name == "truncated":
        p = _write(tmp / "full.npz", members)
        data = p.read_bytes()
        out = tmp / "x.npz"
        out.write_bytes(data[: len(data) // 2])
        return out
    if name == "pickle-npy":  # an .npy of objects renamed .npz
        p = tmp / "x.npz"
        p.write_bytes(_npy(np.array([object()], dtype=object)))
        return p
    meta = _meta(members)
    m = list(members)
    if name == "no-meta":
        m = [(n, b) for n, b in m if n != "__meta__.npy"]
    elif name == "meta-not-utf8":
        m = [(n, _npy(np.frombuffer(b"\xff\xfe{", np.uint8)) if n == "__meta__.npy" else b) for n, b in m]
    elif name == "meta-bad-json":
        m = [(n, _npy(np.frombuffer(b"{'format': 1", np.uint8)) if n == "__meta__.npy" else b) for n, b in m]
    elif name == "meta-json-list":
        m = [(n, _npy(np.frombuffer(b"[1, 2]", np.uint8)) if n == "__meta__.npy" else b) for n, b in m]
    elif name == "meta-float-array":
        m = [(n, _npy(np.ones(3)) if n == "__meta__.npy" else b) for n, b in m]
    elif name == "wrong-format":
        m = _with_meta(m, {**meta, "format": "other-2"})
    elif name == "model-keys-not-list":
        m = _with_meta(m, {**meta, "model_keys": "0.weight"})
    elif name == "missing-member":
        m = [(n, b) for n, b in m if n != "model/0.weight.npy"]
    elif name == "nan-weight":
        w = _w(m, "model/0.weight.npy").copy()
        w[0, 0] = np.nan
        m = _replace(m, "model/0.weight.npy", w)
    elif name == "bool-weight":
        m = _replace(m, "model/0.weight.npy", np.ones((4, 3), bool))
        m = _with_meta(m, {**meta, "arrays": {**meta["arrays"], "model/0.weight": ["|b1", [4, 3]]}})
    elif name == "complex-weight":
        m = _replace(m, "model/0.weight.npy", np.ones((4, 3), np.complex128))
    elif name == "object-weight":
        m = _replace(m, "model/0.weight.npy", np.array([[object()] * 3] * 4, dtype=object))
    elif name == "wrong-shape-weight":
        m = _replace(m, "model/0.weight.npy", np.ones((5, 3), np.float32))
        m = _with_meta(m, {**meta, "arrays": {**meta["arrays"], "model/0.weight": ["<f4", [5, 3]]}})
    elif name == "header-disagrees-with-meta":
        m = _replace(m, "model/0.weight.npy", np.ones((4, 3), np.float64))
    elif name == "duplicated-member":
        m = m + [("model/0.weight.npy", _npy(np.zeros((4, 3), np.float32)))]
    elif name == "huge-declared-shape":  # the header claims exabytes
        hdr = io.BytesIO()
        np.lib.format.write_array_header_1_0(hdr, {"descr": "<f4", "fortran_order": False,
                                                   "shape": (2**31, 2**31)})
        m = [(n, hdr.getvalue() + b"\0" * 48 if n == "model/0.weight.npy" else b) for n, b in m]
    elif name == "size-lie":  # header says 12 floats, the member holds 2
        m = [(n, b[: len(b) - 40] if n == "model/0.weight.npy" else b) for n, b in m]
    elif name == "broken-npy-magic":
        m = [(n, b"NOTNUMPY" + b[8:] if n == "model/0.weight.npy" else b) for n, b in m]
    elif name == "epoch-str":
        m = _with_meta(m, {**meta, "epoch": "abc"})
    elif name == "optimizer-list":
        m = _with_meta(m, {**meta, "optimizer": [1, 2]})
    elif name == "optimizer-lr-str":
        om = dict(meta["optimizer"])
        om["param_groups"] = [{**g, "lr": "0.1"} for g in om["param_groups"]]
        m = _with_meta(m, {**meta, "optimizer": om})
    elif name == "optimizer-nan-state":
        key = next(n for n, _ in m if n.startswith("optimizer/"))
        w = _w(m, key).copy()
        w.flat[0] = np.nan
        m = _replace(m, key, w)
    elif name == "scheduler-malformed":
        m = _with_meta(m, {**meta, "scheduler": {"type": 3}})
    elif name == "arrays-table-malformed":
        m = _with_meta(m, {**meta, "arrays": {"model/0.weight": "float32"}})
    elif name == "rng-malformed":
        m = _with_meta(m, {**meta, "rng": [1]})
    else:  # pragma: no cover
        raise AssertionError(name)
    return _write(tmp / "x.npz", m)


CRAFTED = ["garbage", "empty-file", "truncated", "pickle-npy", "no-meta", "meta-not-utf8", "meta-bad-json",
           "meta-json-list", "meta-float-array", "wrong-format", "model-keys-not-list", "missing-member", "nan-weight",
           "bool-weight", "complex-weight", "object-weight", "wrong-shape-weight", "header-disagrees-with-meta",
           "duplicated-member", "huge-declared-shape", "size-lie", "broken-npy-magic", "epoch-str", "optimizer-list",
           "optimizer-lr-str", "optimizer-nan-state", "scheduler-malformed", "arrays-table-malformed",
           "rng-malformed"]


@pytest.mark.parametrize("name", CRAFTED)
def test_crafted_file_is_refused_with_checkpoint_error(name, good, tmp_path):
    _, members = good
    path = _craft(name, tmp_path, members)
    m = _model()
    opt = optim.SGD(m.parameters(), lr=0.5, momentum=0.9)
    before = {k: host(v).copy() for k, v in m.state_dict().items()}
    with pytest.raises(xn.CheckpointError) as e:
        xn.load(path, model=m, optimizer=opt)
    msg = str(e.value)
    assert str(path) in msg and "allow_pickle" not in msg, msg
    assert len(msg) > len(str(path)) + 20  # a problem is stated, not just the path
    for k, v in m.state_dict().items():  # nothing was applied
        np.testing.assert_array_equal(host(v), before[k], err_msg=k)
    assert opt.param_groups[0]["lr"] == 0.5 and not opt.state


def test_the_good_file_loads(good):
    path, _ = good
    m = _model()
    ck = xn.load(path, model=m, optimizer=optim.SGD(m.parameters(), lr=0.5, momentum=0.9))
    assert ck["epoch"] == 3


def test_unknown_members_are_never_read(good, tmp_path):
    """A 400 MB zero member compressed into a small file beside a valid checkpoint: loading reads only
    the members the metadata names, so it never decompresses it."""
    _, members = good
    bomb = np.zeros(100 * 2**20, np.float32)  # 400 MB once decompressed
    path = _write(tmp_path / "bomb.npz", members + [("extra/bomb.npy", _npy(bomb))], zipfile.ZIP_DEFLATED)
    del bomb
    assert path.stat().st_size < 2 * 2**20
    tracemalloc.start()
    t0 = time.perf_counter()
    xn.load(path, model=_model())
    elapsed = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.1f} MiB"
    assert elapsed < 2.0


def test_named_member_bomb_is_refused_before_decompressing(good, tmp_path):
    _, members = good
    meta = _meta(members)
    bomb = np.zeros((4, 25 * 2**20), np.float32)  # declared under a name the metadata lists
    meta["arrays"]["model/0.weight"] = ["<f4", list(bomb.shape)]
    m = _with_meta(_replace(members, "model/0.weight.npy", bomb), meta)
    del bomb
    path = _write(tmp_path / "bomb.npz", m, zipfile.ZIP_DEFLATED)
    tracemalloc.start()
    with pytest.raises(xn.CheckpointError, match="bomb.npz"):
        xn.load(path, model=_model())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_load_is_all_or_nothing_when_the_optimizer_does_not_fit(good):
    path, _ = good
    m = _model()
    with xn.use_backend("numpy"):
        other = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))  # another parameter count
    before = {k: host(v).copy() for k, v in m.state_dict().items()}
    with pytest.raises(xn.CheckpointError, match="good.npz"):
        xn.load(path, model=m, optimizer=optim.SGD(other.parameters(), lr=0.1, momentum=0.9))
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(host(v), before[k], err_msg=k)


def test_optimizer_and_scheduler_of_another_class_are_refused(tmp_path):
    m = _model()
    opt = optim.SGD(m.parameters(), lr=0.1)
    path = xn.save(m, tmp_path / "c.npz", optimizer=opt, scheduler=optim.lr_scheduler.StepLR(opt, 2))
    with pytest.raises(xn.CheckpointError, match="SGD.*Adam"):
        xn.load(path, optimizer=optim.Adam(m.parameters()))
    with pytest.raises(xn.CheckpointError, match="StepLR.*CosineAnnealingLR"):
        xn.load(path, scheduler=optim.lr_scheduler.CosineAnnealingLR(optim.SGD(m.parameters(), lr=0.1), 4))


# -- no litter ---------------------------------------------------------------------------------------
_SAVER = """
import sys
import xpnet as xn
from xpnet import nn
xn.manual_seed(0)
model = nn.Linear(2000, 6000)  # 48 MB of float32
sys.stdout.write("ready\\n"); sys.stdout.flush()
while True:
    xn.save(model, sys.argv[1])
"""


def _temps(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_sigkill_during_save_leaves_no_temp_file_after_the_next_save(tmp_path):
    target = tmp_path / "big.npz"
    xn.save(nn.Linear(2, 2), target)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    killed_mid_write = 0
    for attempt in range(8):
        proc = subprocess.Popen([sys.executable, "-c", _SAVER, str(target)], env=env, stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 20
        while not _temps(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        if _temps(tmp_path):
            killed_mid_write += 1
        if killed_mid_write >= 2:
            break
    assert killed_mid_write >= 1, "no kill landed while a temporary file existed"
    stale = _temps(tmp_path)
    assert stale, "the kill left no temporary file: the test proves nothing"
    # the target is intact: the old file or a whole new one
    assert xn.load(target)["model"]
    xn.save(nn.Linear(2, 2), target)  # the next save removes the stale temporary files
    assert _temps(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.npz"]


def test_load_also_removes_stale_temps_but_not_a_live_writers(tmp_path):
    target = xn.save(nn.Linear(2, 2), tmp_path / "m.npz")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".m.npz.{int(dead.stdout)}.abcd1234.tmp"
    live = tmp_path / f".m.npz.{os.getpid()}.efgh5678.tmp"
    stale.write_bytes(b"partial")
    live.write_bytes(b"being written")
    xn.load(target)
    assert not stale.exists() and live.exists()


# -- exact resume --------------------------------------------------------------------------------
def _script(*args):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, str(HERE / "resume_script.py"), *map(str, args)], env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]


@pytest.mark.parametrize("backend", ["numpy", "torch", "array_api_strict"])
def test_fit_resume_in_a_new_process_is_bitwise(tmp_path, backend):
    """5 epochs with fit(checkpoint=...), then a NEW process resumes to 10: dropout, BatchNorm,
    AdamW, a cosine schedule and a seeded loader; parameters, buffers and the loss history equal
    those of 10 straight epochs bit for bit."""
    sys.path.insert(0, str(HERE))
    import resume_script

    try:
        straight, h = resume_script.run(backend, 10)
    finally:
        xn.set_backend("numpy")
    ck = tmp_path / "run.npz"
    _script(backend, 5, ck, tmp_path / "first.npz")
    _script(backend, 10, ck, tmp_path / "resumed.npz", "resume")
    with np.load(tmp_path / "resumed.npz") as z:
        np.testing.assert_array_equal(z["loss"], np.array(h["loss"]))
        for k, v in straight.state_dict().items():
            np.testing.assert_array_equal(z[k], host(v), err_msg=k)
    with np.load(tmp_path / "first.npz") as z:  # the first half differs from the end: the test can fail
        assert not np.array_equal(z["0.weight"], host(straight.state_dict()["0.weight"]))


def test_resume_without_the_seeded_loader_stream_is_refused(tmp_path):
    sys.path.insert(0, str(HERE))
    import resume_script

    ck = tmp_path / "run.npz"
    resume_script.run("numpy", 2, checkpoint=ck)
    model, opt, sched = resume_script.build("numpy")
    with pytest.raises(xn.CheckpointError, match="seed"):
        xn.fit(model, resume_script.data(), optimizer=opt, scheduler=sched, epochs=4, progress=False, resume=ck)


def test_nonfinite_loss_keeps_the_good_epochs(tmp_path):
    """After a NaN loss fit raises, the model holds the last good epoch's weights and err.history the
    good epochs."""
    r = np.random.default_rng(0)
    X = r.standard_normal((64, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    xn.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = optim.SGD(m.parameters(), lr=0.1)

    class Explode(xn.train.Callback):
        def on_epoch_end(self, epoch, logs, model):
            self.weights = {k: host(v).copy() for k, v in model.state_dict().items()}
            if epoch == 1:
                opt.param_groups[0]["lr"] = 1e30  # epoch 3 diverges

    cb = Explode()
    with pytest.raises(xn.NonFiniteLossError, match="epoch 3") as e:
        xn.fit(m, (X, y), optimizer=opt, epochs=5, batch_size=8, progress=False, callbacks=[cb])
    assert e.value.history.epochs == 2 and all(np.isfinite(e.value.history["loss"]))
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(host(v), cb.weights[k], err_msg=k)


def test_nonfinite_loss_restores_early_stoppings_best(tmp_path):
    r = np.random.default_rng(0)
    X = r.standard_normal((64, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    xn.manual_seed(0)
    m = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = optim.SGD(m.parameters(), lr=0.1)
    es = xn.EarlyStopping(monitor="loss", patience=5)

    class Explode(xn.train.Callback):
        def on_epoch_end(self, epoch, logs, model):
            if epoch == 2:
                opt.param_groups[0]["lr"] = 1e30

    with pytest.raises(xn.NonFiniteLossError) as e:
        xn.fit(m, (X, y), optimizer=opt, epochs=6, batch_size=8, progress=False, callbacks=[Explode()],
               early_stopping=es)
    assert e.value.history.epochs == 3
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(host(v), host(es.best_state[k]), err_msg=k)
