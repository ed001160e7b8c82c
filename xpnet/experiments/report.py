"""Tables, figures and a self-contained ``report.html`` from the rows of an experiment.

- ``table.md``: one row per variant, mean ± sd over the seeds that finished, the best (by the
  experiment's ``metric``) in bold with ★; ablations add whether each step was adopted.
- figures (``figures/*.png``): per factor, overlaid validation loss and accuracy curves (one line per
  value, mean over seeds); the metric against the value with ±1 sd error bars;
  for steps, the roadmap bar chart (bright bars: steps adopted, pale bars: steps reverted).
- ``report.html``: the table and the figures embedded as base64 PNGs (opens offline).
"""
from __future__ import annotations

import base64
import html
import io
import json
import math
import pathlib
import statistics

from ..io import write_atomic
from .expand import fmt_value, short_key

CLASSIFICATION_COLS = [("test_accuracy", "test acc"), ("validation_accuracy", "val acc"), ("train_accuracy", "train acc"),
                       ("test_loss", "test loss")]
REGRESSION_COLS = [("test_r2", "test R²"), ("validation_r2", "val R²"), ("test_rmse", "test RMSE"),
                   ("test_mae", "test MAE"), ("train_r2", "train R²")]
COMMON_COLS = [("best_epoch", "best epoch"), ("epochs_run", "epochs"), ("train_seconds", "train s"),
               ("inference_seconds", "infer s"), ("parameters", "params")]


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def summarize(spec, rows) -> list:
    """One entry per variant (in order): name, factor, value, step, adopted, n_ok, n, and per column
    (mean, sd) over the finished seeds."""
    out, index = [], {}
    for r in rows:
        key = (r["factor"], r["variant"], r.get("step"))
        if key not in index:
            index[key] = len(out)
            out.append({"variant": r["variant"], "factor": r["factor"], "value": r["value"], "step": r.get("step"),
                        "adopted": r.get("adopted"), "overrides": r.get("overrides"), "rows": []})
        out[index[key]]["rows"].append(r)
    for v in out:
        ok = [r for r in v["rows"] if r.get("status") == "ok"]
        v["n_ok"], v["n"] = len(ok), len(v["rows"])
        v["errors"] = sorted({r.get("error", "") for r in v["rows"] if r.get("status") != "ok"})
        v["stats"] = {}
        cols = {c for r in ok for c, x in r.items() if _num(x)}
        for c in cols:
            xs = [r[c] for r in ok if _num(r.get(c))]
            if xs:
                v["stats"][c] = (statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else 0.0)
    return out


def _groups(spec, summary):
    """(title, variants) per factor for vary; one group otherwise."""
    if spec.kind == "vary":
        groups = {}
        for v in summary:
            groups.setdefault(v["factor"], []).append(v)
        return list(groups.items())
    title = {"grid": "grid", "variants": "comparison", "steps": "roadmap"}[spec.kind]
    return [(title, summary)]


def _best(spec, variants):
    scored = [v for v in variants if spec.metric in v["stats"]]
    if not scored:
        return None
    pick = max if spec.higher_is_better else min
    return pick(scored, key=lambda v: v["stats"][spec.metric][0])


def _fmt(stat, col):
    if stat is None:
        return "–"
    m, s = stat
    if col in ("parameters",):
        return f"{m:,.0f}"
    if col in ("best_epoch", "epochs_run"):
        return f"{m:.1f} ± {s:.1f}" if s else f"{m:.0f}"
    if col.endswith("seconds"):
        return f"{m:.3g} ± {s:.2g}" if s else f"{m:.3g}"
    return f"{m:.4f} ± {s:.4f}"


def _is_regression(summary):
    return any("test_r2" in v["stats"] for v in summary)


def _table_cols(spec, summary):
    cols = list(REGRESSION_COLS if _is_regression(summary) else CLASSIFICATION_COLS)
    if spec.metric not in [c for c, _ in cols]:
        cols.insert(0, (spec.metric, spec.metric))
    return cols + COMMON_COLS


def table_rows(spec, variants):
    """Header and body cells of one table (the best marked)."""
    best = _best(spec, variants)
    cols = _table_cols(spec, variants)
    header = ["variant"] + [label for _, label in cols] + ["seeds ok"]
    if spec.kind == "steps":
        header.insert(1, "adopted")
    body = []
    for v in variants:
        mark = v is best
        name = v["variant"] + (" ★" if mark else "")
        cells = [name] + [_fmt(v["stats"].get(c), c) for c, _ in cols] + [f"{v['n_ok']}/{v['n']}"]
        if spec.kind == "steps":
            cells.insert(1, {True: "yes", False: "no (reverted)", None: "–"}[v.get("adopted")])
        if v["errors"]:
            cells[-1] += " (" + "; ".join(e[:80] for e in v["errors"]) + ")"
        body.append((cells, mark, spec.metric in [c for c, _ in cols] and 1 + [c for c, _ in cols].index(spec.metric)
                     + (1 if spec.kind == "steps" else 0)))
    return header, body


def table_md(spec, summary) -> str:
    lines = [f"# {spec.name}", ""]
    if spec.description:
        lines += [spec.description, ""]
    if spec.note:
        lines += [f"*{spec.note}*", ""]
    lines += [f"Mean ± sd over seeds {spec.seeds}; best by mean `{spec.metric}` marked ★ and in bold.", ""]
    for title, variants in _groups(spec, summary):
        if spec.kind == "vary":
            lines += [f"## {title}", ""]
        header, body = table_rows(spec, variants)
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        for cells, mark, mcol in body:
            cells = [f"**{c}**" if mark and (i == 0 or i == mcol) and c != "–" else c for i, c in enumerate(cells)]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if spec.kind == "steps":
        kept = [v["variant"] for v in summary if v.get("adopted")]
        lines += [f"Adopted steps: {', '.join(kept) or 'none'}.", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------- figures

def _pyplot():
    from ..plotting import _pyplot as p

    return p()


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    return buf.getvalue()


def _mean_curve(rows, key):
    curves = [r["history"][key] for r in rows if r.get("status") == "ok" and r.get("history") and r["history"].get(key)]
    curves = [[x for x in c] for c in curves]
    if not curves:
        return None
    n = min(len(c) for c in curves)
    out = []
    for i in range(n):
        xs = [c[i] for c in curves if c[i] is not None and math.isfinite(c[i])]
        out.append(statistics.fmean(xs) if xs else float("nan"))
    return out


def _slug(s):
    return "".join(ch if ch.isalnum() else "_" for ch in s).strip("_") or "x"


def figure_curves(spec, title, variants, histories):
    plt = _pyplot()
    keys = [k for k in ("val_loss", "val_accuracy") if any(_mean_curve(histories[v["variant"]], k) for v in variants)]
    if plt is None or not keys:
        return None
    fig, axes = plt.subplots(1, len(keys), figsize=(5.2 * len(keys), 3.6), squeeze=False)
    cmap = plt.get_cmap("viridis" if len(variants) > 6 else "tab10")
    for ax, key in zip(axes[0], keys):
        for j, v in enumerate(variants):
            c = _mean_curve(histories[v["variant"]], key)
            if c:
                color = cmap(j / max(len(variants) - 1, 1)) if len(variants) > 6 else cmap(j % 10)
                ax.plot(range(1, len(c) + 1), c, label=_label(spec, v), color=color, lw=1.4)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key.replace("val_", "validation ").replace("_", " "))
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="best", title=short_key(title) if spec.kind == "vary" else None)
    fig.suptitle(f"{spec.name}: {short_key(title) if spec.kind == 'vary' else title} — validation curves (mean over seeds)",
                 fontsize=10)
    png = _png(fig)
    plt.close(fig)
    return png


def _label(spec, v):
    return fmt_value(v["value"]) if spec.kind == "vary" else v["variant"]


def figure_metric(spec, title, variants):
    plt = _pyplot()
    scored = [v for v in variants if spec.metric in v["stats"]]
    if plt is None or not scored:
        return None
    test_col = spec.metric.replace("validation_", "test_")
    vals = [v["value"] for v in scored]
    numeric = spec.kind == "vary" and all(_num(x) for x in vals)
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    if numeric:
        order = sorted(range(len(scored)), key=lambda i: vals[i])
        xs = [vals[i] for i in order]
        pos = xs
        if min(xs) > 0 and max(xs) / min(xs) >= 20:
            ax.set_xscale("log")
    else:
        order = list(range(len(scored)))
        pos = list(range(len(scored)))
        ax.set_xticks(pos)
        ax.set_xticklabels([_label(spec, scored[i]) for i in order], rotation=30 if len(order) > 4 else 0,
                           ha="right" if len(order) > 4 else "center", fontsize=8)
    for col, style, off in ((spec.metric, "o-", 0.0), (test_col, "s--", 0.08)):
        if col == spec.metric or any(col in v["stats"] for v in scored):
            m = [scored[i]["stats"].get(col, (float("nan"), 0))[0] for i in order]
            s = [scored[i]["stats"].get(col, (float("nan"), 0))[1] for i in order]
            p = pos if numeric else [x + off for x in pos]
            ax.errorbar(p, m, yerr=s, fmt=style if numeric else style[0], capsize=4, label=col.replace("_", " "))
            if col == test_col and col == spec.metric:
                break
    ax.set_xlabel(short_key(title) if spec.kind == "vary" else "variant")
    ax.set_ylabel("mean ± sd over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    what = f"against {short_key(title)}" if numeric else (f"by {short_key(title)}" if spec.kind == "vary" else "by variant")
    ax.set_title(f"{spec.name}: {spec.metric.replace('_', ' ')} {what}", fontsize=10)
    png = _png(fig)
    plt.close(fig)
    return png


def figure_roadmap(spec, summary):
    """Report 000 Figure 13: one bar per step, bright if adopted, pale if reverted."""
    plt = _pyplot()
    if plt is None or not summary:
        return None
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(summary) + 1.4))
    names = [v["variant"] for v in summary][::-1]
    ms = [v["stats"].get(spec.metric, (float("nan"), 0.0)) for v in summary][::-1]
    colors = ["#f2b701" if v.get("adopted") else "#f7e3a1" for v in summary][::-1]
    ax.barh(range(len(names)), [m for m, _ in ms], xerr=[s for _, s in ms], color=colors, edgecolor="#8a6d00",
            capsize=3)
    finite = [m for m, _ in ms if math.isfinite(m)]
    if finite:
        lo, hi = min(finite), max(finite)
        pad = max((hi - lo) * 0.5, 0.01)
        ax.set_xlim(max(lo - pad, 0.0) if spec.higher_is_better else lo - pad, hi + pad)
    for i, (m, s) in enumerate(ms):
        if math.isfinite(m):
            ax.text(m + s, i, f" {m:.4f}", va="center", fontsize=8)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names, fontsize=8)
    ax.set_xlabel(f"{spec.metric.replace('_', ' ')} (mean ± sd over seeds)")
    from matplotlib.patches import Patch

    ax.legend(handles=[Patch(color="#f2b701", label="adopted"), Patch(color="#f7e3a1", label="reverted")],
              fontsize=8, loc="lower right")
    ax.set_title(f"{spec.name}: roadmap (each step on top of the adopted ones)", fontsize=10)
    png = _png(fig)
    plt.close(fig)
    return png


def figures(spec, summary, rows) -> dict:
    """{file name: PNG bytes}."""
    histories = {}
    for r in rows:
        histories.setdefault(r["variant"], []).append(r)
    out = {}
    for title, variants in _groups(spec, summary):
        slug = _slug(short_key(title))
        png = figure_curves(spec, title, variants, histories)
        if png:
            out[f"curves_{slug}.png"] = png
        if spec.kind != "steps":
            png = figure_metric(spec, title, variants)
            if png:
                out[f"metric_{slug}.png"] = png
    if spec.kind == "steps":
        png = figure_roadmap(spec, summary)
        if png:
            out["roadmap.png"] = png
    return out


def report_html(spec, summary, figs: dict, meta: dict) -> str:
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(spec.name)}</title><style>"
             "body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}"
             "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;"
             "text-align:right}td:first-child,th:first-child{text-align:left}tr.best{background:#fff3c4;font-weight:bold}"
             "img{max-width:100%;margin:.5em 0}code{background:#f4f4f4;padding:1px 4px}</style></head><body>",
             f"<h1>{esc(spec.name)}</h1>"]
    if spec.description:
        parts.append(f"<p>{esc(spec.description)}</p>")
    if spec.note:
        parts.append(f"<p><em>{esc(spec.note)}</em></p>")
    parts.append("<p>" + "<br>".join(f"<b>{esc(k)}</b>: <code>{esc(str(v))}</code>" for k, v in meta.items()) + "</p>")
    parts.append(f"<p>Mean ± sd over seeds {esc(str(spec.seeds))}; best by mean <code>{esc(spec.metric)}</code> "
                 "highlighted (★).</p>")
    for title, variants in _groups(spec, summary):
        if spec.kind == "vary":
            parts.append(f"<h2>{esc(title)}</h2>")
        header, body = table_rows(spec, variants)
        parts.append("<table><tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
        for cells, mark, _ in body:
            parts.append(f"<tr{' class=best' if mark else ''}>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>")
        parts.append("</table>")
        for name in (f"curves_{_slug(short_key(title))}.png", f"metric_{_slug(short_key(title))}.png"):
            if name in figs:
                parts.append(f"<img alt='{esc(name)}' src='data:image/png;base64,{base64.b64encode(figs[name]).decode()}'>")
    if "roadmap.png" in figs:
        parts.append(f"<h2>Roadmap</h2><img alt='roadmap' src='data:image/png;base64,"
                     f"{base64.b64encode(figs['roadmap.png']).decode()}'>")
    parts.append("<h2>Base configuration</h2><pre>" + esc(json.dumps(spec.base, indent=2)) + "</pre></body></html>")
    return "\n".join(parts)


def write_report(exp_dir, spec, rows, meta: dict) -> dict:
    """table.md, figures/*.png and report.html into ``exp_dir``; returns the summary."""
    exp_dir = pathlib.Path(exp_dir)
    summary = summarize(spec, rows)
    write_atomic(exp_dir / "table.md", table_md(spec, summary))
    figs = figures(spec, summary, rows)
    for name, png in figs.items():
        write_atomic(exp_dir / "figures" / name, png)
    write_atomic(exp_dir / "report.html", report_html(spec, summary, figs, meta))
    return {"summary": summary, "figures": sorted(figs)}
