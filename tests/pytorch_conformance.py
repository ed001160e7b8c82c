"""xpnet against PyTorch's own test definitions (``torch.testing._internal``).

For every case whose class exists in xpnet:
- ``common_modules.module_db`` sample inputs: build the xpnet module with the same constructor
  arguments, copy PyTorch's parameters and buffers by name, run the same forward input (train mode,
  and eval mode where the two differ), compare every output, the input and parameter gradients for a
  random cotangent, and the running buffers — float64, rtol 1e-7.
- ``module_db`` error inputs: xpnet must raise (at construction or forward) where PyTorch raises.
- ``common_nn.module_tests`` (the legacy list) for modules xpnet has.
- ``common_optimizers.optim_db`` inputs: the same hyper-parameters on the same parameters and
  gradients, 5 steps, parameters compared after each; and the error inputs.
Cases that draw random numbers inside the forward pass (dropout > 0 in training) cannot be compared
value by value and are counted apart ("random").

Run ``python tests/pytorch_conformance.py`` (all cases, numpy + array_api_strict + torch) for the rate
in README.md; ``--sample K`` runs every K-th case (what tests/test_pytorch_conformance.py does in CI).
"""
from __future__ import annotations

import argparse
import collections
import sys
import time
import warnings

import numpy as np
import torch

import xpnet as xn
from xpnet import nn as xnn
from xpnet import optim as xoptim
from xpnet.backend import load

NAMESPACES = ("numpy", "array_api_strict", "torch")
RTOL, ATOL = 1e-7, 1e-9


class Case:
    def __init__(self, kind, name, desc, run):
        self.kind, self.name, self.desc, self.run = kind, name, desc, run

    @property
    def id(self):
        return f"{self.kind}:{self.name}:{self.desc}"


class Random(Exception):
    """The case draws random numbers in its forward pass: not comparable value by value."""


# -- conversions ------------------------------------------------------------------------------------
def to_xp(obj, grad=True):
    if isinstance(obj, torch.Tensor):
        a = obj.detach().numpy().copy()
        if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.floating):
            return xn.asarray(a)
        return xn.tensor(a, requires_grad=grad and obj.requires_grad, dtype=str(a.dtype))
    if isinstance(obj, tuple):
        return tuple(to_xp(o, grad) for o in obj)
    if isinstance(obj, list):
        return [to_xp(o, grad) for o in obj]
    if isinstance(obj, dict):
        return {k: to_xp(v, grad) for k, v in obj.items()}
    if isinstance(obj, torch.dtype):
        return str(obj).replace("torch.", "")
    return obj


def _fresh(obj, memo):
    """A copy of nested torch inputs, fresh leaves (same object → same copy)."""
    if isinstance(obj, torch.Tensor):
        if id(obj) not in memo:
            memo[id(obj)] = obj.detach().clone().requires_grad_(obj.requires_grad)
        return memo[id(obj)]
    if isinstance(obj, (tuple, list)):
        return type(obj)(_fresh(o, memo) for o in obj)
    if isinstance(obj, dict):
        return {k: _fresh(v, memo) for k, v in obj.items()}
    return obj


def host(x):
    return np.asarray(xn.to_numpy(x.data if hasattr(x, "_xp") else x))


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [y for o in out for y in _flat(o)]
    return [out]


def _compare(a, b, what):
    if b is None:
        if a is not None:
            raise AssertionError(f"{what}: PyTorch gives None, xpnet {type(a).__name__}")
        return
    if a is None:
        raise AssertionError(f"{what}: xpnet gives None")
    ha, hb = host(a), b.detach().numpy()
    if ha.shape != hb.shape:
        raise AssertionError(f"{what}: shape {ha.shape} vs PyTorch {hb.shape}")
    np.testing.assert_allclose(ha, hb, rtol=RTOL, atol=ATOL, err_msg=what)


def _get(mod, dotted):
    for part in dotted.split("."):
        mod = getattr(mod, part)
    return mod


def _walk_inputs(ours, theirs):
    """Pairs (xpnet Tensor, torch tensor) of inputs that require grad."""
    if isinstance(theirs, torch.Tensor):
        if theirs.requires_grad and hasattr(ours, "_xp"):
            yield ours, theirs
    elif isinstance(theirs, (tuple, list)):
        for o, t in zip(ours, theirs):
            yield from _walk_inputs(o, t)
    elif isinstance(theirs, dict):
        for k in theirs:
            yield from _walk_inputs(ours[k], theirs[k])


# -- module cases -----------------------------------------------------------------------------------
def _module_case(info, mi, training):
    cls = info.module_cls
    name = cls.__name__

    def run():
        c, f = mi.constructor_input, mi.forward_input
        ckw = dict(c.kwargs)
        if training and (ckw.get("dropout") or (c.args[2:3] and name == "MultiheadAttention" and c.args[2])):
            raise Random("dropout in training")
        torch.manual_seed(0)
        tm = cls(*c.args, **c.kwargs).to(torch.float64)
        tm.train(training)
        xm = getattr(xnn, name)(*to_xp(c.args), **to_xp(ckw))
        xm.train(training)
        tn = dict(tm.named_parameters())
        xn_names = dict(xm.named_parameters())
        if set(tn) != set(xn_names):
            raise AssertionError(f"parameter names differ: xpnet {sorted(xn_names)} vs PyTorch {sorted(tn)}")
        for k, p in xn_names.items():
            p.data = xn.asarray(tn[k].detach().numpy().copy())
        tb = dict(tm.named_buffers())
        for k in list(tb):
            if k.endswith("num_batches_tracked"):
                continue
            owner, attr = (k.rsplit(".", 1) if "." in k else ("", k))
            target = _get(xm, owner) if owner else xm
            if getattr(target, attr, None) is not None:
                object.__setattr__(target, attr, xn.asarray(tb[k].detach().numpy().copy()))
        targs, tkw = _fresh(f.args, {}), _fresh(f.kwargs, {})  # no .grad left from another namespace's run
        xargs, xkw = to_xp(f.args), to_xp(f.kwargs)
        tout = tm(*targs, **tkw)
        xout = xm(*xargs, **xkw)
        to, xo = _flat(tout), _flat(xout)
        if len(to) != len(xo):
            raise AssertionError(f"{len(xo)} outputs vs PyTorch {len(to)}")
        for i, (a, b) in enumerate(zip(xo, to)):
            _compare(a, b, f"output {i}")
        rng = np.random.default_rng(0)
        tl, xl = 0.0, 0.0
        for a, b in zip(xo, to):
            if b is not None and b.requires_grad and b.dtype.is_floating_point:
                v = rng.standard_normal(tuple(b.shape))
                tl = tl + (b * torch.tensor(v)).sum()
                xl = xl + (a * xn.asarray(v)).sum()
        if isinstance(tl, torch.Tensor):
            tl.backward()
            xl.backward()
            for i, (xa, ta) in enumerate(_walk_inputs((xargs, xkw), (targs, tkw))):
                _compare(xa.grad, ta.grad, f"input grad {i}")
            for k, p in xn_names.items():
                _compare(p.grad, tn[k].grad, f"grad {k}")
        for k, b in tb.items():
            if k.endswith("num_batches_tracked"):
                continue
            owner, attr = (k.rsplit(".", 1) if "." in k else ("", k))
            mine = getattr(_get(xm, owner) if owner else xm, attr, None)
            if mine is not None:
                _compare(mine, b, f"buffer {k}")

    mode = "train" if training else "eval"
    return Case("module", name, f"{mi.desc or 'default'}[{mode}]", run)


def _module_error_case(info, ei, i):
    cls = info.module_cls
    name = cls.__name__

    def run():
        mi = ei.module_error_input
        c, f = mi.constructor_input, mi.forward_input
        ckw = dict(c.kwargs)
        ckw.pop("device", None)
        try:
            xm = getattr(xnn, name)(*to_xp(c.args), **to_xp(ckw))
            xm(*to_xp(f.args), **to_xp(f.kwargs))
        except Exception:  # noqa: BLE001 - any clear error counts; PyTorch's own types vary
            return
        raise AssertionError(f"no error; PyTorch raises {ei.error_type.__name__}: {ei.error_regex[:80]}")

    return Case("module-error", name, f"{i}:{ei.error_regex[:50]}", run)


def _legacy_case(entry, i):
    name = entry["module_name"]

    def run():
        torch.manual_seed(0)
        tm = getattr(torch.nn, name)(*entry.get("constructor_args", ())).to(torch.float64)
        xm = getattr(xnn, name)(*entry.get("constructor_args", ()))
        for k, p in xm.named_parameters():
            p.data = xn.asarray(dict(tm.named_parameters())[k].detach().numpy().copy())
        x = torch.randn(*entry["input_size"], dtype=torch.float64, requires_grad=True)
        xx = to_xp(x)
        tout, xout = tm(x), xm(xx)
        _compare(xout, tout, "output")
        v = np.random.default_rng(0).standard_normal(tuple(tout.shape))
        (tout * torch.tensor(v)).sum().backward()
        (xout * xn.asarray(v)).sum().backward()
        _compare(xx.grad, x.grad, "input grad")

    return Case("module-legacy", name, entry.get("desc", f"{i}"), run)


# -- optimiser cases --------------------------------------------------------------------------------
def _optim_case(oi, inp):
    name = oi.optim_cls.__name__

    def run():
        kw = {k: (float(v) if isinstance(v, torch.Tensor) and v.ndim == 0 else v) for k, v in inp.kwargs.items()}
        if isinstance(kw.get("betas"), tuple):
            kw["betas"] = tuple(float(b) if isinstance(b, torch.Tensor) else b for b in kw["betas"])
        rng = np.random.default_rng(0)
        init = [rng.standard_normal((3, 2)), rng.standard_normal((3,))]
        tp = [torch.nn.Parameter(torch.tensor(a)) for a in init]
        xp_ = [xn.tensor(a, requires_grad=True) for a in init]
        topt = oi.optim_cls(tp, **inp.kwargs)
        xopt = getattr(xoptim, name)(xp_, **kw)
        for step in range(5):
            grads = [rng.standard_normal(a.shape) for a in init]
            for p, g in zip(tp, grads):
                p.grad = torch.tensor(g)
            for p, g in zip(xp_, grads):
                p.grad = xn.asarray(g)
            topt.step()
            xopt.step()
            for i, (a, b) in enumerate(zip(xp_, tp)):
                _compare(a, b, f"param {i} after step {step + 1}")

    return Case("optim", name, inp.desc, run)


def _optim_error_case(oi, ei, i):
    name = oi.optim_cls.__name__

    def run():
        inp = ei.optimizer_error_input
        rng = np.random.default_rng(0)

        def conv(p):
            if isinstance(p, torch.Tensor):
                return xn.tensor(p.detach().numpy().copy(), requires_grad=True)
            if isinstance(p, dict):
                return {k: conv(v) for k, v in p.items()}
            if isinstance(p, (list, tuple)):
                return type(p)(conv(v) for v in p)
            return p

        # keep identities: the same torch tensor becomes the same xpnet tensor
        memo = {}

        def conv_keep(p):
            if isinstance(p, torch.Tensor):
                if id(p) not in memo:
                    memo[id(p)] = xn.tensor(p.detach().numpy().copy(), requires_grad=True)
                return memo[id(p)]
            if isinstance(p, dict):
                return {k: conv_keep(v) for k, v in p.items()}
            if isinstance(p, (list, tuple)):
                return type(p)(conv_keep(v) for v in p)
            return p

        params = inp.params if inp.params is not None else [torch.nn.Parameter(torch.tensor(rng.standard_normal(3)))]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                opt = getattr(xoptim, name)(conv_keep(params), **conv(dict(inp.kwargs)))
                for g in opt.param_groups:
                    for p in g["params"]:
                        p.grad = xn.asarray(np.ones(tuple(p.shape)))
                opt.step()
        except Exception:  # noqa: BLE001
            return
        raise AssertionError(f"no error; PyTorch raises {ei.error_type.__name__}: {ei.error_regex[:80]}")

    return Case("optim-error", name, f"{i}:{ei.error_regex[:50]}", run)


# -- collection -------------------------------------------------------------------------------------
def collect():
    import torch.testing._internal.common_modules as cm
    import torch.testing._internal.common_nn as cn
    import torch.testing._internal.common_optimizers as co

    cases = []
    for info in cm.module_db:
        name = info.module_cls.__name__
        if not hasattr(xnn, name):
            continue
        for training in ((True, False) if info.train_and_eval_differ else (True,)):
            for mi in info.module_inputs_func(info, device="cpu", dtype=torch.float64, requires_grad=True,
                                              training=training):
                cases.append(_module_case(info, mi, training))
        if info.module_error_inputs_func is not None:
            errs = info.module_error_inputs_func(info, device="cpu", dtype=torch.float64, requires_grad=True,
                                                 training=True)
            cases += [_module_error_case(info, e, i) for i, e in enumerate(errs)]
    for i, entry in enumerate(cn.module_tests):
        if hasattr(xnn, entry["module_name"]) and "input_size" in entry:
            cases.append(_legacy_case(entry, i))
    for oi in co.optim_db:
        name = oi.optim_cls.__name__
        if not hasattr(xoptim, name):
            continue
        cases += [_optim_case(oi, inp) for inp in oi.optim_inputs_func(device="cpu", dtype=torch.float64)]
        cases += [_optim_error_case(oi, e, i)
                  for i, e in enumerate(oi.optim_error_inputs_func(device="cpu", dtype=torch.float64))]
    return cases


def run_case(case, namespace):
    """'pass', 'random' or the failure text, for one case on one namespace."""
    xn.set_default_dtype("float64")
    try:
        with xn.use_backend(load(namespace)), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.manual_seed(0)
            xn.manual_seed(0)
            case.run()
        return "pass"
    except Random:
        return "random"
    except Exception as e:  # noqa: BLE001 - the failure is the report
        return f"{type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}"
    finally:
        xn.set_default_dtype("float32")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=1, help="run every K-th case")
    ap.add_argument("--namespaces", default=",".join(NAMESPACES))
    ap.add_argument("--failures", action="store_true", help="list every failing case")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    cases = collect()[::args.sample]
    spaces = args.namespaces.split(",")
    by_kind = collections.defaultdict(lambda: collections.Counter())
    fails = []
    for c in cases:
        results = {ns: run_case(c, ns) for ns in spaces}
        if all(r == "random" for r in results.values()):
            status = "random"
        elif all(r == "pass" for r in results.values()):
            status = "pass"
        else:
            status = "fail"
            fails.append((c.id, {ns: r for ns, r in results.items() if r != "pass"}))
        by_kind[c.kind][status] += 1
    total = collections.Counter()
    print(f"{'kind':<15}{'pass':>6}{'fail':>6}{'random':>8}")
    for k, cnt in sorted(by_kind.items()):
        print(f"{k:<15}{cnt['pass']:>6}{cnt['fail']:>6}{cnt['random']:>8}")
        total.update(cnt)
    n = total["pass"] + total["fail"]
    print(f"{'all':<15}{total['pass']:>6}{total['fail']:>6}{total['random']:>8}")
    print(f"pass rate: {total['pass']}/{n} = {100.0 * total['pass'] / max(n, 1):.1f} % on {', '.join(spaces)} "
          f"({time.perf_counter() - t0:.0f} s)")
    if args.failures:
        for cid, r in fails:
            print(" FAIL", cid, r)
    return total, fails


if __name__ == "__main__":
    sys.path.insert(0, __file__.rsplit("/", 2)[0])
    main()
