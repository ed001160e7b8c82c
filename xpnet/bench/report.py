"""Benchmark output: a markdown table, JSON with the machine, and a PNG bar chart."""
from __future__ import annotations

import json
import sys

from .. import plotting
from ..io import write_atomic


def ratio_rows(results):
    """Rows per (workload, xpnet impl): medians and ratios to torch and to the NumPy reference."""
    rows = []
    for wl, res in results.items():
        times = res["times"]
        peer = next((k for k in times if k.startswith("torch")), None)
        ref = times.get("numpy-handwritten")
        for name, t in times.items():
            if not name.startswith("xpnet"):
                continue
            row = {"workload": wl, "impl": name, "train_s": t["train"]["median"], "train_min": t["train"]["min"],
                   "train_max": t["train"]["max"], "infer_s": t["infer"]["median"]}
            if peer:
                row["torch_train_s"] = times[peer]["train"]["median"]
                row["torch_infer_s"] = times[peer]["infer"]["median"]
                row["train_vs_torch"] = row["train_s"] / row["torch_train_s"]
                row["infer_vs_torch"] = row["infer_s"] / row["torch_infer_s"]
            if ref:
                row["ref_train_s"] = ref["train"]["median"]
                row["train_vs_ref"] = row["train_s"] / row["ref_train_s"]
                row["ref_vs_torch"] = row["ref_train_s"] / row["torch_train_s"] if peer else None
            # RSS after each of three xpnet epochs run back to back after the timed rounds:
            # growth from the first to the last is what further epochs would add
            rss = res.get("rss", {}).get(name) or []
            row["rss_growth_mb"] = (rss[-1] - rss[0]) if len(rss) > 1 else 0.0
            rows.append(row)
    return rows


def _f(v, fmt):
    return "–" if v is None else format(v, fmt)


def markdown(results, meta) -> str:
    lines = [f"# xpnet benchmark — {meta.get('title', '')}".rstrip(" —"), "",
             f"Command: `{meta['command']}`  ", f"Machine: {meta['machine'].get('processor') or meta['machine']['platform']}, "
             f"{meta['machine']['cpu_count']} CPUs; numpy {meta['machine']['numpy']}, torch {meta['machine'].get('torch')} "
             f"({meta['machine'].get('torch_threads')} threads); rows per epoch {meta['rows']}, rounds {meta['rounds']}.", "",
             "Training: seconds per epoch, median (min–max) over interleaved rounds. Inference: seconds per pass over "
             "all rows (batches of 10,000), median of three passes per round. Ratios < 1 mean xpnet is faster.", "",
             "| workload | impl | train s/epoch | torch | ref (NumPy by hand) | xpnet ÷ torch | xpnet ÷ ref | ref ÷ torch "
             "| infer s | torch infer | infer ÷ torch | RSS growth MB, epochs 2→3 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in ratio_rows(results):
        lines.append(
            f"| {r['workload']} | {r['impl']} | {r['train_s']:.3f} ({r['train_min']:.3f}–{r['train_max']:.3f}) "
            f"| {_f(r.get('torch_train_s'), '.3f')} | {_f(r.get('ref_train_s'), '.3f')} | **{_f(r.get('train_vs_torch'), '.2f')}** "
            f"| {_f(r.get('train_vs_ref'), '.2f')} | {_f(r.get('ref_vs_torch'), '.2f')} | {r['infer_s']:.4f} "
            f"| {_f(r.get('torch_infer_s'), '.4f')} | **{_f(r.get('infer_vs_torch'), '.2f')}** | {r['rss_growth_mb']:.1f} |")
    lines += ["", "Workloads:", ""] + [f"- **{k}**: {v['workload']['description']} (batch {v['workload']['batch_size']})"
                                       for k, v in results.items()]
    return "\n".join(lines) + "\n"


ANALYSIS_MARKER = "<!-- analysis: kept when the benchmark rewrites this file -->"


def _keep_analysis(path) -> str:
    """The hand-written part after ANALYSIS_MARKER in an existing report, to carry over."""
    try:
        text = open(path, encoding="utf-8").read()
    except OSError:
        return ""
    i = text.find(ANALYSIS_MARKER)
    return "\n" + text[i:] if i >= 0 else ""


def write(results, meta, stem) -> list:
    """Write ``stem``.md/.json/.png atomically; returns the paths written. A hand-written analysis
    after ANALYSIS_MARKER in an existing ``stem``.md is kept."""
    paths = [write_atomic(f"{stem}.md", markdown(results, meta) + _keep_analysis(f"{stem}.md")),
             write_atomic(f"{stem}.json", json.dumps({"meta": meta, "results": results, "rows": ratio_rows(results)},
                                                     indent=2, default=str))]
    bars = []
    for r in ratio_rows(results):  # only the ratios that were measured: no empty chart without torch
        d = {label: r[key] for key, label in (("train_vs_torch", "train ÷ torch"), ("infer_vs_torch", "infer ÷ torch"),
                                              ("ref_vs_torch", "NumPy-by-hand train ÷ torch")) if r.get(key)}
        if d:
            bars.append((f"{r['workload']}\n{r['impl']}", d))
    if not bars:
        print(f"no chart {stem}.png: it shows times relative to PyTorch, which was not timed "
              "(install torch, or drop --no-torch)", file=sys.stderr)
    elif plotting.plot_bars(bars, f"{stem}.png", "time relative to PyTorch eager (lower is faster)", "ratio"):
        paths.append(f"{stem}.png")
    return paths
