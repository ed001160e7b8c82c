"""``run(spec)``: expand, skip finished runs, execute the rest, write results, table, figures, report."""
from __future__ import annotations

import json
import math
import pathlib
import shlex
import statistics
import sys
import time

from ..io import write_atomic
from . import report, store
from .executors import make_executor
from .expand import fmt_value, runs_for, step_variant, variants
from .spec import load_spec


class Results:
    """What :func:`run` returns: the rows (one per variant × seed), the per-variant summary, the folder."""

    def __init__(self, spec, exp_dir, rows, summary, figures, wall_seconds, executed, skipped, failed):
        self.spec, self.exp_dir, self.rows, self.summary = spec, pathlib.Path(exp_dir), rows, summary
        self.figures, self.wall_seconds = figures, wall_seconds
        self.executed, self.skipped, self.failed = executed, skipped, failed

    @property
    def table(self) -> str:
        return (self.exp_dir / "table.md").read_text(encoding="utf-8")

    def best(self):
        return report._best(self.spec, self.summary)

    def __repr__(self):
        return (f"Results({self.spec.name!r}, {len(self.rows)} rows, executed {self.executed}, skipped {self.skipped}, "
                f"failed {self.failed}, folder {str(self.exp_dir)!r})")


def _better(spec, new, old):
    if new is None or not math.isfinite(new):
        return False
    if old is None:
        return True
    return new > old if spec.higher_is_better else new < old


def _mean_metric(spec, results):
    xs = [r[spec.metric] for r in results if r.get("status") == "ok" and isinstance(r.get(spec.metric), (int, float))
          and math.isfinite(r[spec.metric])]
    return statistics.fmean(xs) if xs else None


class _Progress:
    def __init__(self, total, enabled, quiet):
        self.total, self.quiet, self.done = total, quiet, 0
        self.bar = None
        if enabled and not quiet:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="runs", unit="run", dynamic_ncols=True, file=sys.stderr)

    def skip(self, n):
        self.done += n
        if self.bar is not None:
            self.bar.update(n)

    def line(self, text):
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(text)
        else:
            print(text, flush=True)

    def finished(self, text):
        self.done += 1
        self.line(f"[{self.done}/{self.total}] {text}")
        if self.bar is not None:
            self.bar.update(1)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def _status(spec, run, res):
    if res.get("status") != "ok":
        return f"{run.variant.name} seed {run.seed}: FAILED {res.get('error', '')[:160]}"
    m = res.get(spec.metric)
    tcol = spec.metric.replace("validation_", "test_")
    parts = [f"{run.variant.name} seed {run.seed}:"]
    if isinstance(m, (int, float)):
        parts.append(f"{spec.metric}={m:.4f}")
    if tcol != spec.metric and isinstance(res.get(tcol), (int, float)):
        parts.append(f"{tcol}={res[tcol]:.4f}")
    parts.append(f"epochs={res.get('epochs_run')} {res.get('wall_seconds', 0):.1f}s")
    return " ".join(parts)


def run(spec, out=None, *, workers: int | None = None, dask: bool = False, scheduler: str | None = None,
        retry_failed: bool = False, progress: bool = True, quiet: bool = False, executor=None,
        command: str | None = None) -> Results:
    """Run an experiment (a TOML path, a dict shaped like one, or a :class:`Spec`) and write its folder.

    ``out``: the experiment folder (default ``experiments/<name>``); ``workers``: N local processes;
    ``dask``: a Dask ``LocalCluster``; ``scheduler``: the address of an existing Dask scheduler. Finished
    runs (same config hash and seed, ``runs/*/result.json``) are skipped; ``retry_failed`` re-runs the
    failed ones. Ctrl-C keeps every finished run and writes the tables for them.
    """
    spec = load_spec(spec)
    exp_dir = pathlib.Path(out) if out is not None else pathlib.Path("experiments") / spec.name
    exp_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(exp_dir / "experiment.json", json.dumps(spec.raw, indent=2, default=str))
    t0 = time.perf_counter()
    ex = executor or make_executor(workers=workers, dask=dask, scheduler=scheduler)
    say = (lambda s: None) if quiet else (lambda s: print(s, flush=True))
    n_variants = len(spec.study) if spec.kind == "steps" else len(variants(spec))
    total_runs = n_variants * len(spec.seeds)
    say(f"experiment {spec.name}: {spec.kind} study, {n_variants} variant(s) × {len(spec.seeds)} seed(s) = "
        f"{total_runs} runs → {exp_dir}")
    say(f"executor: {ex.describe()}")
    rows, counts = [], {"executed": 0, "skipped": 0, "failed": 0}
    bar = _Progress(total_runs, progress, quiet)
    meta = {"command": command or f"xn.experiments.run({spec.source or spec.name!r})", "executor": ex.describe()}

    def batch(vs):
        """Run every (variant, seed) of ``vs``; returns {variant name: [results]} and appends rows."""
        pairs = [(v, r) for v in vs for r in runs_for(spec, v)]
        results, todo = {}, {}
        current["pairs"], current["results"] = pairs, results
        for v, r in pairs:
            if r.key in results or r.key in todo:
                continue
            res = store.load_result(exp_dir, r)
            if res is not None and (res.get("status") == "ok" or not retry_failed):
                results[r.key] = res
            else:
                todo[r.key] = r
        n_dup = len(pairs) - len(results) - len(todo)
        if results or n_dup:
            bar.skip(len(results) + n_dup)
            counts["skipped"] += len(results)
            if results:
                bar.line(f"skipping {len(results)} finished run(s) found in {exp_dir / 'runs'}")
        order = list(todo.values())
        jobs = [{"config": r.config, "run_dir": str(store.run_dir(exp_dir, r))} for r in order]
        for i, res in ex.map_unordered(jobs):
            r = order[i]
            res = store.save_result(exp_dir, r, res)
            results[r.key] = res
            counts["executed"] += 1
            counts["failed"] += res.get("status") != "ok"
            bar.finished(_status(spec, r, res))
        return pairs, results

    current = {"pairs": [], "results": {}}  # the batch in flight, for Ctrl-C
    try:
        if spec.kind == "steps":
            adopted, best = {}, None
            for i in range(len(spec.study)):
                v = step_variant(spec, i, adopted)
                pairs, results = batch([v])
                score = _mean_metric(spec, [results[r.key] for _, r in pairs])
                keep = (not v.adopt_if_better) or _better(spec, score, best)
                if keep:
                    adopted, best = dict(v.overrides), score
                rows.extend(store.row(spec, v, r, results[r.key], exp_dir, adopted=keep) for _, r in pairs)
                bar.line(f"step {i + 1}/{len(spec.study)} {v.name}: mean {spec.metric} "
                         f"{'–' if score is None else f'{score:.4f}'} → {'adopted' if keep else 'reverted'}")
        else:
            pairs, results = batch(variants(spec))
            rows.extend(store.row(spec, v, r, results[r.key], exp_dir) for v, r in pairs)
    except KeyboardInterrupt:
        bar.close()
        ex.close(cancel=True)
        done = current["results"]
        seen = {(r["variant"], r["seed"]) for r in rows}
        rows.extend(store.row(spec, v, r, done[r.key], exp_dir) for v, r in current["pairs"]
                    if r.key in done and (v.name, r.seed) not in seen)
        store.write_tables(exp_dir, rows)
        print(f"\ninterrupted: finished runs are kept under {exp_dir / 'runs'}; run the same command again to "
              "resume", file=sys.stderr)
        raise
    bar.close()
    ex.close()
    wall = time.perf_counter() - t0
    meta.update({"wall time": f"{wall:.1f} s", "runs": f"{counts['executed']} executed, {counts['skipped']} skipped "
                 f"(finished before), {counts['failed']} failed"})
    store.write_tables(exp_dir, rows)
    history = store.log_invocation(exp_dir, {**meta, "wall_seconds": round(wall, 1), **counts})
    if len(history) > 1:  # the report says how every finished run came about, not only this invocation
        meta = {"invocations": "; ".join(f"{h['command']} ({h['executor']}): {h['executed']} executed, "
                                         f"{h['skipped']} skipped, {h['failed']} failed in {h['wall_seconds']} s"
                                         for h in history)}
    rep = report.write_report(exp_dir, spec, rows, meta)
    res = Results(spec, exp_dir, rows, rep["summary"], rep["figures"], wall, **counts)
    if not quiet:
        print()
        print(report.table_md(spec, rep["summary"]))
        print(f"{counts['executed']} run(s) executed, {counts['skipped']} skipped, {counts['failed']} failed in "
              f"{wall:.1f} s; results.csv, results.json, table.md, report.html and figures/ in {exp_dir}")
    return res


def command_line(argv) -> str:
    return "xpnet " + " ".join(shlex.quote(a) for a in argv)
