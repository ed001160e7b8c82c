# purity: host -- reads and writes .npy files on the host
"""``xpnet predict RUN --input X.npy --output preds.npy``: a run's preprocessing and model applied to new rows."""
from __future__ import annotations

import io
import pathlib

import numpy as np

from .. import backend as B
from ..config import load_run, resolve_backend
from ..io import write_atomic


def run(args) -> int:
    src = pathlib.Path(args.input)
    if not src.is_file():
        raise FileNotFoundError(f"--input: {src} does not exist")
    try:
        X = np.load(src, allow_pickle=False)
    except ValueError as e:
        raise ValueError(f"--input: cannot read {src} as a numeric .npy file: {e}") from None
    if X.ndim != 2 or X.dtype.kind not in "fiu":
        raise ValueError(f"--input: expected a numeric array of shape (N, features), got {X.shape} {X.dtype}")
    import json

    cfg = json.loads((pathlib.Path(args.run) / "config.json").read_text(encoding="utf-8")) if (pathlib.Path(args.run) / "config.json").exists() else {}
    with B.use_backend(resolve_backend(cfg.get("train", {}).get("backend", "auto"))):
        r = load_run(args.run)
        features = r.metrics["data_shape"]["features"]
        if X.shape[1] != features:
            raise ValueError(f"--input: the run was trained on {features} features, {src} has {X.shape[1]}")
        out = r.predict(X.astype(np.float32), logits=args.logits)
        arr = np.asarray(B.to_numpy(out))
        values = args.logits or r.regression
    arr = arr.astype(np.float32 if values else np.int64)
    buf = io.BytesIO()
    np.save(buf, arr)
    write_atomic(args.output, buf.getvalue())
    what = "predicted values" if r.regression else "logit rows" if args.logits else "predicted classes"
    print(f"wrote {args.output}: {arr.shape[0]} {what}")
    return 0
