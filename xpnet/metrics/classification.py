"""Accuracy, precision, recall, F1 and the confusion matrix, on the device, with scikit-learn's
definitions (``sklearn.metrics``: ``accuracy_score``, ``confusion_matrix``,
``precision_recall_fscore_support``, ``classification_report``).

Inputs: integer labels ``y_true`` (N,) and either integer predictions (N,) or scores/logits (N, C),
which are reduced with argmax. Every function returns a backend array (0-d or per class); read it
with ``float()`` or ``xn.to_numpy`` when needed. Classes absent from both labels and predictions
get precision = recall = F1 = 0 (scikit-learn's ``zero_division=0``).
"""
from __future__ import annotations

from ..backend import asarray, describe, get_default_dtype, namespace_of
from ..backend.ops import one_hot

_AVERAGES = ("macro", "weighted", "micro", None)


def _labels(y_true, y_pred):
    from ..backend import backend_of, mismatch
    from ..backend import check_numeric as _numeric

    y_true = _numeric(y_true, "y_true")
    y_pred = _numeric(y_pred, "y_pred")
    if not hasattr(y_true, "__array_namespace__"):
        y_true = asarray(y_true)
    if not hasattr(y_pred, "__array_namespace__"):
        y_pred = asarray(y_pred)
    if type(y_true) is not type(y_pred):
        bt, bp = backend_of(y_true), backend_of(y_pred)
        if bt.name != bp.name:
            raise mismatch("metrics: y_true and y_pred", y_true, y_pred)
    xp = namespace_of(y_true)
    if y_pred.ndim == 2:
        y_pred = xp.argmax(y_pred, axis=1)
    if y_true.ndim == 2 and y_true.shape[1] == 1:
        y_true = xp.reshape(y_true, (-1,))
    if y_true.ndim != 1 or y_pred.shape != y_true.shape:
        raise ValueError(f"y_pred: expected shape {tuple(y_true.shape)} (or scores (N, C)), got {describe(y_pred)}")
    if not xp.isdtype(y_true.dtype, "integral"):
        raise TypeError(f"y_true: expected integer labels, got {describe(y_true)}")
    if y_pred.dtype != y_true.dtype:
        y_pred = xp.astype(y_pred, y_true.dtype)
    return xp, y_true, y_pred


def accuracy(y_true, y_pred):
    """Fraction of rows with y_pred == y_true (scikit-learn ``accuracy_score``).

    Args:
        y_true: integer labels, shape (N,).
        y_pred: integer predictions (N,) or scores/logits (N, C) (argmax over C).

    Returns:
        a 0-d float array on the labels' device.

    >>> import xpnet as xn
    >>> float(xn.metrics.accuracy(xn.asarray([0, 1, 2, 2]), xn.asarray([0, 2, 2, 2])))
    0.75
    """
    xp, t, p = _labels(y_true, y_pred)
    return xp.mean(xp.astype(t == p, xp.float32 if t.shape[0] < 2**24 else xp.float64))


def confusion_matrix(y_true, y_pred, num_classes: int | None = None):
    """C[i, j] = number of rows of true class i predicted as j (scikit-learn ``confusion_matrix``).

    Args:
        y_true: integer labels, shape (N,).
        y_pred: integer predictions (N,) or scores (N, C).
        num_classes: size of the matrix; defaults to 1 + the largest label seen (one host read).

    Returns:
        an int64 array of shape (num_classes, num_classes) on the device (rows: true, columns: predicted).

    >>> import xpnet as xn
    >>> xn.to_numpy(xn.metrics.confusion_matrix(xn.asarray([0, 1, 2, 2]), xn.asarray([0, 2, 2, 2])))
    array([[1, 0, 0],
           [0, 0, 1],
           [0, 0, 2]])
    """
    xp, t, p = _labels(y_true, y_pred)
    if num_classes is not None and (not isinstance(num_classes, int) or isinstance(num_classes, bool)
                                    or num_classes < 1):
        raise ValueError(f"confusion_matrix: num_classes: expected an int >= 1 or None, got {num_classes!r}")
    if t.shape[0]:
        lo = int(xp.min(xp.minimum(t, p)))
        hi = int(xp.max(xp.maximum(t, p)))
        if num_classes is None:
            num_classes = hi + 1
        if lo < 0 or hi >= num_classes:
            raise ValueError(f"confusion_matrix: labels: expected y_true and y_pred in 0..{num_classes - 1}, "
                             f"got values in {lo}..{hi}")
    elif num_classes is None:
        num_classes = 0
    dtype = xp.float64 if t.shape[0] >= 2**24 else xp.float32
    counts = xp.matmul(xp.matrix_transpose(one_hot(xp, t, num_classes, dtype)), one_hot(xp, p, num_classes, dtype))
    return xp.astype(xp.round(counts), xp.int64)


def precision_recall_f1(y_true, y_pred, average="macro", num_classes: int | None = None):
    """(precision, recall, F1, support) from the confusion matrix C:
    precision_c = C_cc/Σ_i C_ic, recall_c = C_cc/Σ_j C_cj, F1_c = 2PR/(P + R);
    ``average``: ``"macro"`` (mean over classes present in y_true or y_pred), ``"weighted"`` (by support),
    ``"micro"``, or ``None`` (per class). Classes with no predicted (or no true) row get 0
    (scikit-learn ``precision_recall_fscore_support`` with ``zero_division=0``).

    Args:
        y_true: integer labels (N,); y_pred: integer predictions (N,) or scores (N, C).
        average: ``"macro"``, ``"weighted"``, ``"micro"`` or ``None``.
        num_classes: number of classes (default: 1 + the largest label seen).

    Returns:
        (precision, recall, f1, support): 0-d arrays, or (C,) arrays when ``average`` is None.

    >>> import xpnet as xn
    >>> y, pred = xn.asarray([0, 1, 2, 2]), xn.asarray([0, 2, 2, 2])
    >>> p, r, f, support = xn.metrics.precision_recall_f1(y, pred, average=None)
    >>> [round(float(v), 3) for v in xn.to_numpy(p)], xn.to_numpy(r).tolist(), xn.to_numpy(support).tolist()
    ([1.0, 0.0, 0.667], [1.0, 0.0, 1.0], [1.0, 1.0, 2.0])
    >>> [round(float(v), 3) for v in xn.metrics.precision_recall_f1(y, pred, average="macro")[:3]]
    [0.556, 0.667, 0.6]
    """
    if average not in _AVERAGES:
        raise ValueError(f"average: expected one of {_AVERAGES}, got {average!r}")
    cm = confusion_matrix(y_true, y_pred, num_classes)
    xp = namespace_of(cm)
    c = xp.astype(cm, getattr(xp, get_default_dtype()))  # counts are exact in float32 below 2**24
    tp = xp.linalg.diagonal(c) if hasattr(xp, "linalg") and hasattr(xp.linalg, "diagonal") else _diag(xp, c)
    pred_count = xp.sum(c, axis=0)
    support = xp.sum(c, axis=1)
    if average == "micro":
        total = xp.sum(tp) / xp.sum(c)
        return total, total, total, xp.sum(support)
    p = _safe_div(xp, tp, pred_count)
    r = _safe_div(xp, tp, support)
    f = _safe_div(xp, 2 * p * r, p + r)
    if average is None:
        return p, r, f, support
    if average == "weighted":
        w = support / xp.sum(support)
        return xp.sum(p * w), xp.sum(r * w), xp.sum(f * w), xp.sum(support)
    present = xp.astype((support + pred_count) > 0, c.dtype)
    k = xp.sum(present)
    return xp.sum(p * present) / k, xp.sum(r * present) / k, xp.sum(f * present) / k, xp.sum(support)


def _diag(xp, c):
    n = c.shape[0]
    return xp.sum(c * xp.eye(n, dtype=c.dtype, device=getattr(c, "device", None)), axis=1)


def _safe_div(xp, a, b):
    return xp.where(b > 0, a / xp.where(b > 0, b, xp.ones_like(b)), xp.zeros_like(a))


def precision(y_true, y_pred, average="macro", num_classes=None):
    """Precision C_cc/Σ_i C_ic (scikit-learn ``precision_score``, ``zero_division=0``); arguments as
    :func:`precision_recall_f1`.

    >>> import xpnet as xn
    >>> round(float(xn.metrics.precision(xn.asarray([0, 1, 2, 2]), xn.asarray([0, 2, 2, 2]))), 4)
    0.5556
    """
    return precision_recall_f1(y_true, y_pred, average, num_classes)[0]


def recall(y_true, y_pred, average="macro", num_classes=None):
    """Recall C_cc/Σ_j C_cj (scikit-learn ``recall_score``, ``zero_division=0``); arguments as
    :func:`precision_recall_f1`.

    >>> import xpnet as xn
    >>> round(float(xn.metrics.recall(xn.asarray([0, 1, 2, 2]), xn.asarray([0, 2, 2, 2]))), 4)
    0.6667
    """
    return precision_recall_f1(y_true, y_pred, average, num_classes)[1]


def f1_score(y_true, y_pred, average="macro", num_classes=None):
    """F1 = 2PR/(P + R) per class, then averaged (scikit-learn ``f1_score``, ``zero_division=0``);
    arguments as :func:`precision_recall_f1`.

    >>> import xpnet as xn
    >>> y, pred = xn.asarray([0, 1, 2, 2]), xn.asarray([0, 2, 2, 2])
    >>> round(float(xn.metrics.f1_score(y, pred)), 4), float(xn.metrics.f1_score(y, pred, average="micro"))
    (0.6, 0.75)
    """
    return precision_recall_f1(y_true, y_pred, average, num_classes)[2]


def classification_report(y_true, y_pred, target_names=None, digits: int = 4, num_classes=None) -> str:
    """A text table like scikit-learn's ``classification_report``: per-class precision, recall, F1,
    support; then accuracy, macro and weighted averages.

    Args:
        y_true: integer labels (N,); y_pred: integer predictions (N,) or scores (N, C).
        target_names: one name per class (default: the class indices).
        digits: decimals of the figures (0..15).
        num_classes: number of classes (default: 1 + the largest label seen).

    Returns:
        the table as a ``str`` (host values: reads the metrics once).

    >>> import xpnet as xn
    >>> print(xn.metrics.classification_report(xn.asarray([0, 1, 2, 2]), xn.asarray([0, 2, 2, 2]), digits=2))
                 precision    recall  f1-score   support
    <BLANKLINE>
               0      1.00      1.00      1.00         1
               1      0.00      0.00      0.00         1
               2      0.67      1.00      0.80         2
    <BLANKLINE>
        accuracy                          0.75         4
       macro avg      0.56      0.67      0.60         4
    weighted avg      0.58      0.75      0.65         4
    """
    from ..backend import to_numpy

    if not isinstance(digits, int) or isinstance(digits, bool) or not 0 <= digits <= 15:
        raise ValueError(f"classification_report: digits: expected an int in 0..15, got {digits!r}")
    p, r, f, s = (to_numpy(v) for v in precision_recall_f1(y_true, y_pred, None, num_classes))
    n = len(s)
    if target_names is not None:
        if isinstance(target_names, str) or not hasattr(target_names, "__iter__"):
            raise TypeError(f"classification_report: target_names: expected a list of {n} names, got "
                            f"{type(target_names).__name__}")
        target_names = [str(x) for x in target_names]
        if len(target_names) != n:
            raise ValueError(f"classification_report: target_names: expected {n} names (one per class), got "
                             f"{len(target_names)}: {target_names}")
    names = [str(i) for i in range(n)] if target_names is None else target_names
    width = max(len("weighted avg"), *(len(x) for x in names))
    head = f"{'':>{width}} {'precision':>9} {'recall':>9} {'f1-score':>9} {'support':>9}"
    lines = [head, ""]
    for i in range(n):
        lines.append(f"{names[i]:>{width}} {p[i]:>9.{digits}f} {r[i]:>9.{digits}f} {f[i]:>9.{digits}f} {int(s[i]):>9}")
    total = int(s.sum())
    acc = float(to_numpy(accuracy(y_true, y_pred)))
    lines += ["", f"{'accuracy':>{width}} {'':>9} {'':>9} {acc:>9.{digits}f} {total:>9}"]
    for avg in ("macro", "weighted"):
        ap, ar, af, _ = (float(to_numpy(v)) for v in precision_recall_f1(y_true, y_pred, avg, num_classes))
        lines.append(f"{avg + ' avg':>{width}} {ap:>9.{digits}f} {ar:>9.{digits}f} {af:>9.{digits}f} {total:>9}")
    return "\n".join(lines)
