"""The experiment folder: one run folder per run (``runs/<hash>-s<seed>/``) with ``result.json``
written atomically when the run ends, so a finished run (same config hash and seed) is found and
skipped on re-run, and a run killed half-way (no ``result.json``) is started afresh."""
from __future__ import annotations

import csv
import io
import json
import math
import pathlib

from ..io import write_atomic

RESULT = "result.json"


def run_dir(exp_dir, run) -> pathlib.Path:
    return pathlib.Path(exp_dir) / "runs" / run.run_id


def load_result(exp_dir, run) -> dict | None:
    """The stored result of ``run`` if it finished with this exact config hash, else None."""
    p = run_dir(exp_dir, run) / RESULT
    try:
        res = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return res if res.get("config_hash") == run.key else None


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def save_result(exp_dir, run, res: dict) -> dict:
    res = dict(res)
    res.pop("traceback", None) if res.get("status") == "ok" else None
    res.update({"config_hash": run.key, "seed": run.seed, "variant": run.variant.name,
                "overrides": run.overrides, "config": run.config})
    write_atomic(run_dir(exp_dir, run) / RESULT, json.dumps(_clean(res), indent=1, default=str))
    return res


FIRST = ["experiment", "variant", "factor", "value", "step", "adopted", "overrides", "seed", "status", "error",
         "train_accuracy", "train_loss", "validation_accuracy", "validation_loss", "test_accuracy", "test_loss",
         "best_epoch", "epochs_run", "train_seconds", "inference_seconds", "parameters", "backend", "wall_seconds",
         "config_hash", "run_dir"]
_SKIP = {"history", "config", "traceback", "pid"}


def row(spec, variant, run, res, exp_dir, adopted=None) -> dict:
    r = {"experiment": spec.name, "variant": variant.name, "factor": variant.factor,
         "value": variant.value if not isinstance(variant.value, tuple) else list(variant.value),
         "step": variant.step, "adopted": adopted, "overrides": variant.overrides, "seed": run.seed}
    for k, v in res.items():
        if k not in _SKIP and k not in ("variant", "overrides", "seed"):
            r[k] = v
    r["config_hash"] = run.key
    r["history"] = res.get("history")  # for the figures; not written to results.csv/json
    try:
        r["run_dir"] = str(run_dir(exp_dir, run).relative_to(exp_dir))
    except ValueError:  # pragma: no cover
        r["run_dir"] = str(run_dir(exp_dir, run))
    return r


def columns(rows) -> list:
    cols = [c for c in FIRST if any(c in r for r in rows)]
    for r in rows:
        cols += [k for k in r if k not in cols and k not in _SKIP]
    return cols


def write_tables(exp_dir, rows) -> None:
    exp_dir = pathlib.Path(exp_dir)
    rows = [{k: v for k, v in r.items() if k not in _SKIP} for r in rows]
    write_atomic(exp_dir / "results.json", json.dumps(_clean(rows), indent=1, default=str))
    cols = columns(rows)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(cols)
    for r in rows:
        w.writerow([json.dumps(r[c]) if isinstance(r.get(c), (dict, list)) else ("" if r.get(c) is None else r[c])
                    for c in cols])
    write_atomic(exp_dir / "results.csv", buf.getvalue())


def log_invocation(exp_dir, entry: dict) -> list:
    """Append ``entry`` (command, executor, wall time, executed/skipped/failed counts) to
    ``invocations.json`` atomically; returns every invocation so far."""
    import datetime

    path = pathlib.Path(exp_dir) / "invocations.json"
    try:
        history = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        history = []
    history.append({**entry, "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")})
    write_atomic(path, json.dumps(history, indent=1, default=str))
    return history
