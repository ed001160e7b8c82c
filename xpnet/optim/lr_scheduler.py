"""Learning-rate schedules (PyTorch ``torch.optim.lr_scheduler`` names, signatures and semantics).

One protocol for every schedule, so a training loop needs no special case:

- ``needs_metric`` (class attribute): False for the epoch schedules, True for ``ReduceLROnPlateau``;
- ``step(metric=None)``: advance one epoch. Epoch schedules accept the keyword and ignore it (PyTorch's
  ``scheduler.step()`` is the same call); ``ReduceLROnPlateau`` needs the monitored value (PyTorch's
  ``scheduler.step(val_loss)``, also ``step(metrics=...)``) and raises a TypeError without it.
  ``xn.fit`` calls ``scheduler.step(metric=monitored)`` on every scheduler that has ``needs_metric``.

Source: https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate (``scheduler.step()``
after the epoch's ``optimizer.step()``; ``ReduceLROnPlateau.step(metrics)``).

``step()`` uses PyTorch's *chainable* (recursive) form: each schedule multiplies the lr currently in
the parameter group by its own ratio lr(t)/lr(t−1), so several schedules on one optimiser (StepLR +
LinearLR, ExponentialLR + ReduceLROnPlateau) compose into the product of their factors exactly as in
PyTorch. ``step(epoch)`` with an explicit epoch uses the closed form base·f(t), as PyTorch does.
"""
from __future__ import annotations

import bisect
import math
from collections import Counter

from .optimizer import Optimizer, check_number


def _positive_int(owner, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")
    return value


def _check_optimizer(owner, optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{owner}: optimizer must be an xpnet Optimizer (e.g. xn.optim.SGD(model.parameters())), "
                        f"got {type(optimizer).__name__}")


class _StateMixin:
    _skip = ("optimizer", "schedulers")

    def state_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k not in self._skip}
        d["scheduler"] = type(self).__name__
        return d

    def load_state_dict(self, state: dict) -> None:
        name = type(self).__name__
        if not isinstance(state, dict):
            raise TypeError(f"{name}.load_state_dict: expected a dict (scheduler.state_dict()), got {type(state).__name__}")
        state = dict(state)
        saved = state.pop("scheduler", None)
        mine = {k for k in self.__dict__ if k not in self._skip}
        missing = sorted(mine - set(state) - {"_step_count"})
        if (saved is not None and saved != name) or missing:
            raise ValueError(f"{name}.load_state_dict: the state was saved by {saved or 'another scheduler'}, "
                             f"not {name} (missing: {missing})")
        self.__dict__.update(state)


class LRScheduler(_StateMixin):
    """Base class: subclasses give the closed form ``lr_at(base, t)`` and the chainable update
    ``_chain(lr, base, t)`` (the lr in the group now → the lr at step t). ``step(epoch=None, *,
    metric=None)``: the scheduler protocol of this module; ``metric`` is accepted and ignored."""

    needs_metric = False

    def __init__(self, optimizer, last_epoch: int = -1):
        name = type(self).__name__
        _check_optimizer(name, optimizer)
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"{name}: last_epoch must be an int >= -1, got {last_epoch!r}")
        self.optimizer = optimizer
        for g in optimizer.param_groups:
            g.setdefault("initial_lr", g["lr"])
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._step_count = 0
        self.step()

    def lr_at(self, base_lr: float, t: int) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _chain(self, lr: float, base: float, t: int) -> float:
        """Default: the closed form (schedules that are not multiplicative, e.g. OneCycleLR)."""
        return self.lr_at(base, t)

    def get_last_lr(self) -> list:
        return list(self._last_lr)

    def step(self, epoch: int | None = None, *, metric=None) -> None:
        """Advance one epoch (``epoch``: PyTorch's deprecated closed-form jump to that epoch);
        ``metric`` is accepted for the common protocol and not used by an epoch schedule."""
        self._step_count += 1
        groups = self.optimizer.param_groups
        if epoch is None:
            self.last_epoch += 1
            if self._step_count == 1 and self.last_epoch > 0:  # resumed with last_epoch: closed form
                lrs = [self.lr_at(b, self.last_epoch) for b in self.base_lrs]
            else:
                lrs = [self._chain(g["lr"], b, self.last_epoch) for g, b in zip(groups, self.base_lrs)]
        else:
            if isinstance(epoch, bool) or not isinstance(epoch, int):
                raise TypeError(f"{type(self).__name__}.step: epoch must be an int or None, got {epoch!r}")
            self.last_epoch = epoch
            lrs = [self.lr_at(b, epoch) for b in self.base_lrs]
        for g, lr in zip(groups, lrs):
            g["lr"] = lr
        self._last_lr = [g["lr"] for g in groups]


class StepLR(LRScheduler):
    """lr = base · γ^⌊t / step_size⌋ (chainable: × γ whenever t is a multiple of step_size)."""

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        self.step_size = _positive_int("StepLR", "step_size", step_size)
        self.gamma = check_number("StepLR", "gamma", gamma, 0.0, False)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, t):
        return base * self.gamma ** (t // self.step_size)

    def _chain(self, lr, base, t):
        return lr if t == 0 or t % self.step_size else lr * self.gamma


class MultiStepLR(LRScheduler):
    """lr = base · γ^(number of milestones ≤ t)."""

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"MultiStepLR: milestones must be a list of ints, got {milestones!r}")
        milestones = list(milestones)
        if not all(isinstance(m, int) and not isinstance(m, bool) and m >= 0 for m in milestones):
            raise TypeError(f"MultiStepLR: milestones must be a list of non-negative ints, got {milestones!r}")
        self.milestones = sorted(milestones)
        self.gamma = check_number("MultiStepLR", "gamma", gamma, 0.0, False)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, t):
        return base * self.gamma ** bisect.bisect_right(self.milestones, t)

    def _chain(self, lr, base, t):
        k = Counter(self.milestones)[t]
        return lr * self.gamma**k if k else lr


class ConstantLR(LRScheduler):
    """lr = base · factor for t < total_iters, then base (chainable: × factor at t = 0, ÷ factor at
    t = total_iters)."""

    def __init__(self, optimizer, factor: float = 1.0 / 3, total_iters: int = 5, last_epoch: int = -1):
        self.factor = check_number("ConstantLR", "factor", factor, 0.0, True, 1.0)
        if isinstance(total_iters, bool) or not isinstance(total_iters, int) or total_iters < 0:
            raise ValueError(f"ConstantLR: total_iters must be an int >= 0, got {total_iters!r}")
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, t):
        return base * (self.factor if t < self.total_iters else 1.0)

    def _chain(self, lr, base, t):
        if t == 0:
            return lr * self.factor
        if t != self.total_iters:
            return lr
        return lr * (1.0 / self.factor)


class ExponentialLR(LRScheduler):
    """lr = base · γ^t."""

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        self.gamma = check_number("ExponentialLR", "gamma", gamma, 0.0, False)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, t):
        return base * self.gamma**t

    def _chain(self, lr, base, t):
        return lr if t == 0 else lr * self.gamma


class PolynomialLR(LRScheduler):
    """lr = base · (1 − min(t, T)/T)^power (T = total_iters)."""

    def __init__(self, optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1):
        self.total_iters = _positive_int("PolynomialLR", "total_iters", total_iters)
        self.power = check_number("PolynomialLR", "power", power)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, t):
        return base * (1.0 - min(self.total_iters, t) / self.total_iters) ** self.power

    def _chain(self, lr, base, t):
        if t == 0 or t > self.total_iters:
            return lr
        T = self.total_iters
        return lr * ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** self.power


class CosineAnnealingLR(LRScheduler):
    """lr = η_min + (base − η_min)(1 + cos(πt/T_max))/2 (Loshchilov & Hutter 2017, no restarts);
    chainable: lr ← η_min + (lr − η_min)(1 + cos(πt/T))/(1 + cos(π(t−1)/T)), as PyTorch."""

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        self.T_max = _positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = check_number("CosineAnnealingLR", "eta_min", eta_min, 0.0)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, t):
        return self.eta_min + (base - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2

    def _chain(self, lr, base, t):
        T, lo = self.T_max, self.eta_min
        if t == 0:
            return lr
        if (t - 1 - T) % (2 * T) == 0:
            return lr + (base - lo) * (1 - math.cos(math.pi / T)) / 2
        return (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T)) * (lr - lo) + lo


class LinearLR(LRScheduler):
    """Warm-up: lr = base · (s + (e − s)·min(t, T)/T), s = start_factor, e = end_factor, T = total_iters."""

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0, total_iters: int = 5,
                 last_epoch: int = -1):
        check_number("LinearLR", "start_factor", start_factor, 0.0, False, 1.0)
        check_number("LinearLR", "end_factor", end_factor, 0.0, True, 1.0)
        self.start_factor, self.end_factor = start_factor, end_factor
        self.total_iters = _positive_int("LinearLR", "total_iters", total_iters)
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base, t):
        frac = min(t, self.total_iters) / self.total_iters
        return base * (self.start_factor + (self.end_factor - self.start_factor) * frac)

    def _chain(self, lr, base, t):
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        if t == 0:
            return lr * s
        if t > T:
            return lr
        return lr * (1.0 + (e - s) / (T * s + (t - 1) * (e - s)))


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2018), PyTorch ``OneCycleLR``: lr rises from max_lr/div_factor
    to max_lr over ``pct_start`` of the steps, then anneals (cos or linear) to
    initial_lr/final_div_factor (``three_phase``: back to initial_lr first). Momentum (or Adam's β₁)
    cycles inversely between max_momentum and base_momentum when ``cycle_momentum``. Sets the lr
    directly from the step count (not chainable, as in PyTorch)."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
                 div_factor=25.0, final_div_factor=1e4, three_phase=False, last_epoch=-1):
        _check_optimizer("OneCycleLR", optimizer)
        if total_steps is None:
            if epochs is None or steps_per_epoch is None:
                raise ValueError("OneCycleLR: give total_steps, or both epochs and steps_per_epoch")
            total_steps = _positive_int("OneCycleLR", "epochs", epochs) * _positive_int(
                "OneCycleLR", "steps_per_epoch", steps_per_epoch)
        self.total_steps = _positive_int("OneCycleLR", "total_steps", total_steps)
        check_number("OneCycleLR", "pct_start", pct_start, 0.0, True, 1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"OneCycleLR: anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        n = len(optimizer.param_groups)
        per = lambda v, name: list(v) if isinstance(v, (list, tuple)) else [check_number("OneCycleLR", name, v)] * n
        max_lrs = per(max_lr, "max_lr")
        T = float(self.total_steps)
        if three_phase:
            self._phases = [(pct_start * T - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (2 * pct_start * T - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                            (T - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self._phases = [(pct_start * T - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                            (T - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            d = optimizer.defaults
            if "momentum" not in d and "betas" not in d:
                raise ValueError("OneCycleLR: cycle_momentum=True needs an optimiser with momentum or betas; "
                                 "pass cycle_momentum=False")
            self._use_beta = "betas" in d
        base_m, max_m = per(base_momentum, "base_momentum"), per(max_momentum, "max_momentum")
        for g, lr, bm, mm in zip(optimizer.param_groups, max_lrs, base_m, max_m):
            if last_epoch == -1:
                g["initial_lr"] = lr / div_factor
                g["max_lr"], g["min_lr"] = lr, g["initial_lr"] / final_div_factor
            if cycle_momentum:
                if self._use_beta:
                    g["betas"] = (mm, *g["betas"][1:])
                else:
                    g["momentum"] = mm
                g["max_momentum"], g["base_momentum"] = mm, bm
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def _at(self, g, t):
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: stepped {t} times, more than total_steps={self.total_steps}")
        start = 0.0
        for i, (end, lr0, lr1, m0, m1) in enumerate(self._phases):
            if t <= end or i == len(self._phases) - 1:
                pct = (t - start) / (end - start)
                lr = self._anneal(g[lr0], g[lr1], pct)
                mom = self._anneal(g[m0], g[m1], pct) if self.cycle_momentum else None
                return lr, mom
            start = end
        raise AssertionError  # pragma: no cover

    def lr_at(self, base, t):  # pragma: no cover - step() is overridden
        raise NotImplementedError

    def step(self, epoch=None, *, metric=None) -> None:
        self._step_count += 1
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        for g in self.optimizer.param_groups:
            lr, mom = self._at(g, self.last_epoch)
            g["lr"] = lr
            if mom is not None:
                if self._use_beta:
                    g["betas"] = (mom, *g["betas"][1:])
                else:
                    g["momentum"] = mom
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]


class SequentialLR(LRScheduler):
    """Run ``schedulers[i]`` from ``milestones[i-1]`` on, its clock restarted at 0 (warm-up, then decay)."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch: int = -1):
        _check_optimizer("SequentialLR", optimizer)
        schedulers, milestones = list(schedulers), list(milestones)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: milestones: expected {len(schedulers) - 1} values, got {len(milestones)}")
        for s in schedulers:
            if getattr(s, "optimizer", None) is not optimizer:
                raise ValueError("SequentialLR: every scheduler must belong to the optimizer given to SequentialLR")
        self.schedulers, self.milestones = schedulers, milestones
        self.optimizer, self.last_epoch, self._step_count = optimizer, last_epoch + 1, 1
        for g in optimizer.param_groups:  # undo the schedulers' own first steps, as PyTorch
            g["lr"] = g["initial_lr"]
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        for s in schedulers:
            s.last_epoch -= 1
        schedulers[0].step()
        self._last_lr = schedulers[0].get_last_lr()

    def lr_at(self, base, t):  # pragma: no cover - step() is overridden
        raise NotImplementedError

    def step(self, epoch=None, *, metric=None) -> None:
        self.last_epoch += 1
        i = bisect.bisect_right(self.milestones, self.last_epoch)
        s = self.schedulers[i]
        if i > 0 and self.milestones[i - 1] == self.last_epoch:
            s.step(0)
        else:
            s.step(metric=metric)
        self._last_lr = s.get_last_lr()

    def state_dict(self) -> dict:
        d = super().state_dict()
        d["_schedulers"] = [s.state_dict() for s in self.schedulers]
        return d

    def load_state_dict(self, state: dict) -> None:
        state = dict(state)
        subs = state.pop("_schedulers", None)
        super().load_state_dict(state)
        if subs is not None:
            for s, st in zip(self.schedulers, subs):
                s.load_state_dict(st)


class ReduceLROnPlateau(_StateMixin):
    """Multiply lr by ``factor`` once the monitored value has not improved for ``patience`` epochs
    (PyTorch semantics: ``threshold_mode`` rel/abs, ``cooldown``, ``min_lr``). ``step(value)`` takes a
    Python number, read once per epoch. It multiplies the lr in the group now, so it composes with
    other schedules. ``needs_metric = True``: ``step`` without the monitored value raises."""

    _skip = ("optimizer",)
    needs_metric = True

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr=0.0,
                 eps: float = 1e-8):
        _check_optimizer("ReduceLROnPlateau", optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"ReduceLROnPlateau: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"ReduceLROnPlateau: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        check_number("ReduceLROnPlateau", "factor", factor, 0.0, True, 1.0, False)
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"ReduceLROnPlateau: patience must be an int >= 0, got {patience!r}")
        if isinstance(cooldown, bool) or not isinstance(cooldown, int) or cooldown < 0:
            raise ValueError(f"ReduceLROnPlateau: cooldown must be an int >= 0, got {cooldown!r}")
        self.optimizer, self.mode, self.factor, self.patience = optimizer, mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown, self.eps = threshold, threshold_mode, cooldown, eps
        n = len(optimizer.param_groups)
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def _better(self, a, best):
        if self.mode == "min":
            ref = best * (1 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold
            return a < ref
        ref = best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold
        return a > ref

    def step(self, metrics=None, epoch=None, *, metric=None) -> None:
        """One epoch with the monitored value ``metric`` (or PyTorch's ``metrics``, positional first);
        ``epoch`` is PyTorch's deprecated explicit epoch number."""
        if metrics is not None and metric is not None:
            raise TypeError("ReduceLROnPlateau.step: pass the monitored value once, as metric= or metrics=, not both")
        metrics = metric if metrics is None else metrics
        if metrics is None:
            raise TypeError("ReduceLROnPlateau.step: metric: expected the monitored value (a number such as the "
                            "validation loss: scheduler.step(val_loss)), got None")
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step: metrics must be a number (the monitored loss or score), "
                            f"got {metrics!r}") from None
        self.last_epoch = self.last_epoch + 1 if epoch is None else epoch
        if self._better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for g, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(g["lr"] * self.factor, min_lr)
                if g["lr"] - new > self.eps:
                    g["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        return list(self._last_lr)
