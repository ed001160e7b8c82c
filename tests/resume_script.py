"""Run by tests/test_checkpoints.py in a fresh process: train (or resume) the resume-test model and
write its parameters. Usage: resume_script.py BACKEND EPOCHS CHECKPOINT OUT [resume]"""
import sys

import numpy as np

import xpnet as xn
from xpnet import nn, optim


def build(backend):
    xn.set_backend(backend)
    xn.manual_seed(11)
    model = nn.Sequential(nn.Linear(12, 32), nn.BatchNorm1d(32), nn.GELU(), nn.Dropout(0.3), nn.Linear(32, 3))
    opt = optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-2)
    sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    return model, opt, sched


def data():
    r = np.random.default_rng(5)
    X = r.standard_normal((96, 12)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0.5)
    return X, y


def run(backend, epochs, checkpoint=None, resume=None):
    model, opt, sched = build(backend)
    if resume is not None:
        xn.manual_seed(999)  # a resumed process has other random state until the checkpoint is read
    h = xn.fit(model, data(), optimizer=opt, scheduler=sched, epochs=epochs, batch_size=16, seed=3,
               progress=False, checkpoint=checkpoint, resume=resume)
    return model, h


if __name__ == "__main__":
    backend, epochs, ck, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    resume = len(sys.argv) > 5
    model, h = run(backend, epochs, checkpoint=None if resume else ck, resume=ck if resume else None)
    np.savez(out, loss=np.array(h["loss"]), **{k: xn.to_numpy(v) for k, v in model.state_dict().items()})
