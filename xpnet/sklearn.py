# purity: host -- scikit-learn hands labels (strings too) and validated inputs over as NumPy on the host
"""scikit-learn estimators: :class:`XPNetClassifier` and :class:`XPNetRegressor`.

Parameters are the config keys of ``xpnet train`` (``[model]``: hidden, activation, negative_slope,
norm, dropout, residual, init; ``[train]``: optimizer, lr, momentum, nesterov, weight_decay, betas,
epochs, batch_size, shuffle, scheduler, label_smoothing, clip_grad_norm, backend, seed), validated by
:mod:`xpnet.config` when ``fit`` runs. The estimators follow scikit-learn's API (``fit``, ``predict``,
``predict_proba``, ``score``, ``partial_fit``, ``get_params``/``set_params``) and work in ``Pipeline``,
``GridSearchCV`` and ``cross_val_score``.

Arrays: NumPy-like inputs (lists, DataFrames, NumPy) are validated as scikit-learn does and moved to
``backend``; an array of a non-NumPy Array API library (a torch tensor, a CuPy array) is used where it
lives when ``backend`` matches it, and ``predict``/``predict_proba`` return arrays of that library on
that device (as scikit-learn's array-API dispatch does).
"""
from __future__ import annotations

import numbers

from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import backend as B

_MODEL_KEYS = ("hidden", "activation", "negative_slope", "norm", "dropout", "residual", "init")
_TRAIN_KEYS = ("optimizer", "lr", "momentum", "nesterov", "weight_decay", "betas", "epochs", "batch_size", "shuffle",
               "scheduler", "label_smoothing", "clip_grad_norm", "seed")


def expected_failed_checks(estimator) -> dict:
    """Checks of ``sklearn.utils.estimator_checks.check_estimator`` these estimators do not pass, with the
    reason (pass as ``check_estimator(est, expected_failed_checks=expected_failed_checks(est))``).

    >>> from xpnet.sklearn import XPNetClassifier, expected_failed_checks
    >>> list(expected_failed_checks(XPNetClassifier()))
    ['check_array_api_input']
    """
    return {
        "check_array_api_input": "runs only with SCIPY_ARRAY_API=1; scikit-learn then converts inputs with dtype "
                                 "names its torch path refuses, and compares our float32 device outputs with the "
                                 "float64 NumPy outputs; device inputs are kept on their device (tested in "
                                 "tests/test_sklearn.py) but this check is not met",
    }


def _is_device_array(x) -> bool:
    """An Array API array that is not NumPy's (torch, CuPy, array_api_strict): kept where it lives."""
    from array_api_compat import is_array_api_obj, is_numpy_array

    return is_array_api_obj(x) and not is_numpy_array(x) and not isinstance(x, (list, tuple))


class _XPNetEstimator(BaseEstimator):
    """Shared fit/partial_fit machinery; subclasses define the targets and the loss."""

    _loss = "cross_entropy"

    def __init__(self, hidden=(100,), activation="relu", negative_slope=0.01, norm="none", dropout=0.0,
                 residual=False, init="default", optimizer="adam", lr=1e-3, momentum=0.0, nesterov=False,
                 weight_decay=0.0, betas=(0.9, 0.999), epochs=200, batch_size=32, shuffle=True, scheduler="none",
                 label_smoothing=0.0, clip_grad_norm=0.0, backend="numpy", seed=0, verbose=False):
        self.hidden = hidden
        self.activation = activation
        self.negative_slope = negative_slope
        self.norm = norm
        self.dropout = dropout
        self.residual = residual
        self.init = init
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.betas = betas
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.scheduler = scheduler
        self.label_smoothing = label_smoothing
        self.clip_grad_norm = clip_grad_norm
        self.backend = backend
        self.seed = seed
        self.verbose = verbose

    # ------------------------------------------------------------ config
    def _config(self) -> dict:
        from .config import validate

        def plain(v):
            return [plain(x) for x in v] if isinstance(v, (list, tuple)) else (v.item() if hasattr(v, "item") else v)

        hidden = [self.hidden] if isinstance(self.hidden, numbers.Integral) else self.hidden
        model = {"type": "mlp", **{k: plain(getattr(self, k)) for k in _MODEL_KEYS}, "hidden": plain(hidden)}
        train = {k: plain(getattr(self, k)) for k in _TRAIN_KEYS}
        train["backend"] = self.backend if isinstance(self.backend, str) else "numpy"
        try:
            return validate({"model": model, "train": train, "data": {"validation_split": 0.0}})
        except ValueError as e:  # name the estimator parameter, not only the config key
            raise ValueError(f"{type(self).__name__}: invalid parameter: {e}") from None

    def _backend(self):
        return B.load(self.backend) if isinstance(self.backend, str) else B.load(self.backend)

    # ------------------------------------------------------------ data
    def _X(self, X, reset):
        if _is_device_array(X):
            if X.ndim != 2:
                raise ValueError(f"X: expected a 2-D array (n_samples, n_features), got shape {tuple(X.shape)}")
            if reset:
                self.n_features_in_ = int(X.shape[1])
            elif X.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                                 f"{self.n_features_in_} features as input")
            return B.asarray(X, dtype="float32", backend=self._backend_)
        X = validate_data(self, X, reset=reset, dtype=("float32", "float64"))
        return B.asarray(X, dtype="float32", backend=self._backend_)

    def _Xy(self, X, y, reset):
        if _is_device_array(X):
            if y is None:
                raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y is None")
            return self._X(X, reset), y
        X, y = validate_data(self, X, y, reset=reset, dtype=("float32", "float64"), multi_output=self._multi_output,
                             y_numeric=self._y_numeric)
        return B.asarray(X, dtype="float32", backend=self._backend_), y

    # ------------------------------------------------------------ training
    def _build(self, n_outputs, seed=True):
        from .config import build_model, build_optimizer, build_scheduler

        cfg = self._config_
        with B.use_backend(self._backend_):
            if seed:
                B.manual_seed(int(cfg["train"]["seed"]))
            self.model_ = build_model(cfg["model"], self.n_features_in_, n_outputs)
            self.optimizer_ = build_optimizer(self.model_.parameters(), cfg["train"])
            self.scheduler_ = build_scheduler(self.optimizer_, cfg["train"])

    def _train(self, X, t, epochs):
        from . import nn
        from .train import fit

        cfg = self._config_["train"]
        loss = (nn.CrossEntropyLoss(label_smoothing=cfg["label_smoothing"]) if self._loss == "cross_entropy"
                else self._loss)
        with B.use_backend(self._backend_):
            hist = fit(self.model_, (X, t), loss=loss, optimizer=self.optimizer_, epochs=epochs,
                       batch_size=min(int(cfg["batch_size"]), int(X.shape[0])), shuffle=bool(cfg["shuffle"]),
                       scheduler=self.scheduler_, progress=False, verbose=bool(self.verbose),
                       initial_epoch=self.n_epochs_, clip_grad_norm=cfg["clip_grad_norm"] or None)
        self.n_epochs_ += hist.epochs
        self.loss_curve_ = getattr(self, "loss_curve_", []) + list(hist.history.get("loss", []))
        return self

    def _start(self):
        self._config_ = self._config()
        self._backend_ = self._backend()
        self.n_epochs_ = 0
        self.loss_curve_ = []

    _BLOCK = 256

    def _outputs(self, X):
        """Logits, computed in blocks of exactly ``_BLOCK`` rows (the last one zero-padded): every row goes
        through matrix products of the same shape, so its output does not depend on which other rows are
        predicted with it (BLAS sums in a different order for one row than for many)."""
        from .train import predict

        check_is_fitted(self, "model_")
        device_in = _is_device_array(X)
        Xb = self._X(X, reset=False)
        n, blk = int(Xb.shape[0]), self._BLOCK
        with B.use_backend(self._backend_):
            xp = B.namespace_of(Xb)
            pad = (-n) % blk
            if pad:
                Xb = xp.concat([Xb, xp.zeros((pad, Xb.shape[1]), dtype=Xb.dtype, device=B.device_of(Xb))], axis=0)
            out = predict(self.model_, Xb, batch_size=blk, logits=True)
        return out[:n, ...], device_in

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    # ------------------------------------------------------------ pickling: weights and optimiser state as .npz bytes
    def __getstate__(self):
        state = dict(super().__getstate__())  # a copy: object.__getstate__ returns the live __dict__
        if "model_" in state:
            import os
            import tempfile

            from .train import save

            with tempfile.TemporaryDirectory() as d:
                path = save({"model": self.model_, "optimizer": self.optimizer_, "scheduler": self.scheduler_},
                            os.path.join(d, "estimator.npz"), rng=False)
                with open(path, "rb") as f:
                    state["_checkpoint_"] = f.read()
            for k in ("model_", "optimizer_", "scheduler_"):
                state.pop(k, None)
        state.pop("_backend_", None)
        return state

    def __setstate__(self, state):
        ck = state.pop("_checkpoint_", None)
        super().__setstate__(state)
        if "_config_" in state:
            self._backend_ = self._backend()
        if ck is not None:
            import os
            import tempfile

            from .train import load

            self._build(int(self.classes_.shape[0]) if hasattr(self, "classes_") else self.n_outputs_, seed=False)
            with tempfile.TemporaryDirectory() as d:
                path = os.path.join(d, "estimator.npz")
                with open(path, "wb") as f:
                    f.write(ck)
                with B.use_backend(self._backend_):
                    load(path, model=self.model_, optimizer=self.optimizer_, scheduler=self.scheduler_,
                         restore_rng=False)


class XPNetClassifier(ClassifierMixin, _XPNetEstimator):
    """An xpnet MLP classifier (cross-entropy, softmax probabilities) with scikit-learn's API.

    ``classes_`` holds the sorted labels seen in ``fit`` (any type NumPy can sort: ints, strings, ...);
    ``predict`` returns labels from it and ``predict_proba`` the softmax of the logits,
    pᵢ = exp(zᵢ) / Σⱼ exp(zⱼ), one column per class. ``partial_fit`` runs one epoch on the batch
    given (``classes`` needed on the first call unless ``y`` shows them all).

    Shape:
        X: (n_samples, n_features); y: (n_samples,) labels of any sortable type.
        ``predict``: (n_samples,) labels; ``predict_proba``: (n_samples, n_classes).

    >>> import numpy as np
    >>> from xpnet.sklearn import XPNetClassifier
    >>> X = np.random.default_rng(0).standard_normal((40, 3))
    >>> y = np.where(X[:, 0] > 0, "pos", "neg")
    >>> clf = XPNetClassifier(hidden=(8,), epochs=20, lr=1e-2).fit(X, y)
    >>> clf.classes_.tolist(), clf.predict_proba(X[:3]).shape, clf.score(X, y) > 0.8
    (['neg', 'pos'], (3, 2), True)
    """

    _multi_output = False
    _y_numeric = False

    def _encode(self, y, reset, classes=None):
        import numpy as np  # labels are host data (strings allowed)

        if _is_device_array(y):
            xp = B.namespace_of(y)
            if reset:
                self.classes_ = xp.unique_values(y) if classes is None else B.asarray(classes, backend=self._backend_)
            idx = xp.searchsorted(self.classes_, y)
            return B.asarray(xp.astype(idx, xp.int64), backend=self._backend_)
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if reset:
            self.classes_ = np.unique(y) if classes is None else np.unique(np.asarray(classes))
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, int(self.classes_.shape[0]) - 1)
        if not np.all(self.classes_[idx] == y):
            unseen = sorted(set(np.asarray(y)[self.classes_[idx] != y].tolist()))[:5]
            raise ValueError(f"y: labels {unseen} are not in classes_ {self.classes_.tolist()}")
        return B.asarray(idx.astype(np.int64), backend=self._backend_)

    def fit(self, X, y):
        """Train from scratch for ``epochs`` epochs on (X, y); returns self."""
        self._start()
        Xb, y = self._Xy(X, y, reset=True)
        t = self._encode(y, reset=True)
        self._build(int(self.classes_.shape[0]))
        return self._train(Xb, t, int(self._config_["train"]["epochs"]))

    def partial_fit(self, X, y, classes=None):
        """One epoch on (X, y), continuing the current model (the first call builds it)."""
        first = not hasattr(self, "model_")
        if first:
            self._start()
        Xb, y = self._Xy(X, y, reset=first)
        t = self._encode(y, reset=first, classes=classes)
        if first:
            self._build(int(self.classes_.shape[0]))
        return self._train(Xb, t, 1)

    def predict_proba(self, X):
        """Class probabilities (n_samples, n_classes): the softmax of the logits."""
        out, device_in = self._outputs(X)
        xp = B.namespace_of(out)
        z = out - xp.max(out, axis=1, keepdims=True)
        p = xp.exp(z)
        p = p / xp.sum(p, axis=1, keepdims=True)
        return p if device_in else B.to_numpy(p).astype("float64")

    def predict_log_proba(self, X):
        import numpy as np

        p = self.predict_proba(X)
        return B.namespace_of(p).log(p) if _is_device_array(p) else np.log(p)

    def predict(self, X):
        """The label of the largest logit for each row (from ``classes_``)."""
        out, device_in = self._outputs(X)
        xp = B.namespace_of(out)
        idx = xp.argmax(out, axis=1)
        if device_in:
            return xp.take(self.classes_, idx, axis=0) if _is_device_array(self.classes_) else B.to_numpy(idx)
        return self.classes_[B.to_numpy(idx)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = True
        return tags


class XPNetRegressor(RegressorMixin, _XPNetEstimator):
    """An xpnet MLP regressor (mean squared error) with scikit-learn's API; ``y`` of shape (N,) or
    (N, K) (multi-output). ``score`` is R² (``sklearn.metrics.r2_score``).

    Shape:
        X: (n_samples, n_features); y: (n_samples,) or (n_samples, n_outputs); ``predict`` returns y's shape.

    >>> import numpy as np
    >>> from xpnet.sklearn import XPNetRegressor
    >>> X = np.random.default_rng(0).standard_normal((40, 3))
    >>> reg = XPNetRegressor(hidden=(8,), epochs=30, lr=1e-2).fit(X, 2 * X[:, 0])
    >>> reg.predict(X[:3]).shape, reg.score(X, 2 * X[:, 0]) > 0.8
    ((3,), True)
    """

    _loss = "mse"
    _multi_output = True
    _y_numeric = True

    def _targets(self, y, reset):
        if _is_device_array(y):
            t = B.asarray(y, dtype="float32", backend=self._backend_)
        else:
            import numpy as np

            t = B.asarray(np.asarray(y, dtype="float32"), dtype="float32", backend=self._backend_)
        if reset:
            self.n_outputs_ = 1 if t.ndim == 1 else int(t.shape[1])
            self._y_1d_ = t.ndim == 1
        elif (1 if t.ndim == 1 else int(t.shape[1])) != self.n_outputs_:
            raise ValueError(f"y: expected {self.n_outputs_} target column(s), got shape {tuple(t.shape)}")
        return t

    def fit(self, X, y):
        """Train from scratch for ``epochs`` epochs on (X, y); returns self."""
        self._start()
        Xb, y = self._Xy(X, y, reset=True)
        t = self._targets(y, reset=True)
        self._build(self.n_outputs_)
        return self._train(Xb, t, int(self._config_["train"]["epochs"]))

    def partial_fit(self, X, y):
        """One epoch on (X, y), continuing the current model (the first call builds it)."""
        first = not hasattr(self, "model_")
        if first:
            self._start()
        Xb, y = self._Xy(X, y, reset=first)
        t = self._targets(y, reset=first)
        if first:
            self._build(self.n_outputs_)
        return self._train(Xb, t, 1)

    def predict(self, X):
        """Predicted targets, (n_samples,) for a 1-D ``y`` in fit, else (n_samples, n_outputs)."""
        out, device_in = self._outputs(X)
        xp = B.namespace_of(out)
        if self._y_1d_:
            out = xp.reshape(out, (-1,))
        return out if device_in else B.to_numpy(out).astype("float64")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
