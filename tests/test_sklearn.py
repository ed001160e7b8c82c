"""scikit-learn estimators: check_estimator, Pipeline, GridSearchCV (load_digits), cross_val_score,
string labels, partial_fit, pickling, parameters, regression, and device inputs kept on the device."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from xpnet.sklearn import XPNetClassifier, XPNetRegressor, expected_failed_checks


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X.astype("float32") / 16.0, y, test_size=0.25, random_state=0, stratify=y)


@pytest.mark.parametrize("est", [XPNetClassifier(epochs=50, lr=0.01, hidden=(32,)),
                                 XPNetRegressor(epochs=50, lr=0.01, hidden=(32,))], ids=["classifier", "regressor"])
def test_check_estimator(est):
    results = check_estimator(est, expected_failed_checks=expected_failed_checks(est), on_fail=None)
    failed = [(r["check_name"], str(r["exception"])[:200]) for r in results if r["status"] == "failed"]
    assert failed == []
    assert sum(r["status"] == "passed" for r in results) >= 50


def test_gridsearch_on_digits(digits):
    Xtr, Xte, ytr, yte = digits
    gs = GridSearchCV(XPNetClassifier(epochs=8, batch_size=64), {"lr": [0.01, 0.0003], "hidden": [(32,), (64,)]}, cv=3)
    gs.fit(Xtr, ytr)
    assert set(gs.cv_results_["param_lr"]) == {0.01, 0.0003}
    assert gs.best_params_["lr"] == 0.01  # 8 epochs at 3e-4 are too few
    assert gs.best_score_ > 0.9 and gs.score(Xte, yte) > 0.9


def test_pipeline_and_cross_val_score(digits):
    Xtr, _, ytr, _ = digits
    pipe = make_pipeline(StandardScaler(), XPNetClassifier(epochs=5, lr=0.01, hidden=(64,), norm="batchnorm",
                                                           dropout=0.1, activation="gelu"))
    scores = cross_val_score(pipe, Xtr, ytr, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85


def test_string_labels_proba_and_params(digits):
    Xtr, Xte, ytr, yte = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"])
    clf = XPNetClassifier(epochs=5, lr=0.01).fit(Xtr, names[ytr])
    assert list(clf.classes_) == sorted(names)
    pred = clf.predict(Xte)
    assert pred.dtype.kind == "U" and np.mean(pred == names[yte]) > 0.85
    p = clf.predict_proba(Xte)
    assert p.shape == (len(Xte), 10) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert np.array_equal(clf.classes_[p.argmax(1)], pred)
    assert clf.get_params()["lr"] == 0.01
    c2 = clone(clf).set_params(lr=0.5, hidden=[16])
    assert c2.lr == 0.5 and c2.hidden == [16] and not hasattr(c2, "model_")
    with pytest.raises(ValueError, match="activation"):
        XPNetClassifier(activation="swish").fit(Xtr, ytr)


def test_partial_fit_and_pickle(digits):
    Xtr, Xte, ytr, yte = digits
    clf = XPNetClassifier(lr=0.01)
    clf.partial_fit(Xtr[:200], ytr[:200], classes=np.arange(10))
    first = clf.score(Xte, yte)
    for _ in range(5):
        clf.partial_fit(Xtr, ytr)
    assert clf.n_epochs_ == 6 and clf.score(Xte, yte) > max(first, 0.85)
    again = pickle.loads(pickle.dumps(clf))
    assert np.array_equal(again.predict_proba(Xte), clf.predict_proba(Xte))
    again.partial_fit(Xtr, ytr)  # the optimiser state came along
    assert again.n_epochs_ == 7
    with pytest.raises(ValueError, match="not in classes_"):
        XPNetClassifier().partial_fit(Xtr[:50], ytr[:50], classes=[0, 1]).partial_fit(Xtr, ytr)


def test_regressor_single_and_multi_output():
    X, y = make_regression(n_samples=400, n_features=6, n_targets=2, noise=1.0, random_state=0)
    y = y / y.std(0)
    reg = XPNetRegressor(epochs=40, lr=0.01, hidden=(32,)).fit(X[:300], y[:300])
    assert reg.predict(X[300:]).shape == (100, 2) and reg.score(X[300:], y[300:]) > 0.95
    reg1 = XPNetRegressor(epochs=40, lr=0.01, hidden=(32,)).fit(X[:300], y[:300, 0])
    assert reg1.predict(X[300:]).shape == (100,) and reg1.score(X[300:], y[300:, 0]) > 0.95
    assert cross_val_score(XPNetRegressor(epochs=20, lr=0.01), X, y[:, 0], cv=2).min() > 0.9


def test_device_inputs_stay_on_the_device(digits):
    torch = pytest.importorskip("torch")
    Xtr, Xte, ytr, yte = (a[:500] for a in digits)
    clf = XPNetClassifier(epochs=3, lr=0.01, backend="torch").fit(torch.asarray(Xtr), torch.asarray(ytr))
    assert isinstance(clf.classes_, torch.Tensor)
    pred, proba = clf.predict(torch.asarray(Xte)), clf.predict_proba(torch.asarray(Xte))
    assert isinstance(pred, torch.Tensor) and isinstance(proba, torch.Tensor)
    assert pred.device == torch.asarray(Xte).device and proba.shape == (len(Xte), 10)
    assert float((pred == torch.asarray(yte)).float().mean()) > 0.7
    ref = XPNetClassifier(epochs=3, lr=0.01, backend="torch").fit(Xtr, ytr)  # NumPy in, NumPy out
    assert isinstance(ref.predict(Xte), np.ndarray)
    assert np.array_equal(ref.predict(Xte), pred.numpy())  # same numbers either way
    reg = XPNetRegressor(epochs=3, backend="torch").fit(torch.asarray(Xtr), torch.asarray(ytr.astype("float32")))
    assert isinstance(reg.predict(torch.asarray(Xte)), torch.Tensor)
