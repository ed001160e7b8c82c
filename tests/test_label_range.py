"""A label ≥ C never trains silently: ``fit`` checks the labels against the model's C outputs once,
before the first update, on every namespace (on the CuPy path nothing in a step reads labels and an
out-of-range index would wrap to a valid class)."""
import numpy as np
import pytest

import xpnet as xn
from xpnet import nn, optim


@pytest.mark.parametrize("where", ["train", "validation"])
def test_fit_refuses_a_label_out_of_range_before_training(backend, where):
    r = np.random.default_rng(0)
    X, y = r.standard_normal((40, 8)).astype(np.float32), r.integers(0, 4, 40)
    bad = y.copy()
    bad[7] = 4  # 4 classes: 0..3
    model = nn.Sequential(nn.Linear(8, 4))
    before = xn.to_numpy(model[0].weight.data).copy()
    opt = optim.SGD(model.parameters(), lr=0.1)
    train, val = ((X, bad), None) if where == "train" else ((X, y), (X, bad))
    with pytest.raises(ValueError, match=r"expected labels in 0\.\.3, got values in 0\.\.4"):
        xn.fit(model, train, optimizer=opt, epochs=1, batch_size=8, validation=val, progress=False)
    np.testing.assert_array_equal(xn.to_numpy(model[0].weight.data), before)  # no step was taken


def test_fit_with_good_labels_and_mse_is_unaffected(backend):
    r = np.random.default_rng(0)
    X = r.standard_normal((32, 8)).astype(np.float32)
    model = nn.Sequential(nn.Linear(8, 4))
    h = xn.fit(model, (X, r.integers(0, 4, 32)), optimizer=optim.SGD(model.parameters(), lr=0.1), epochs=1,
               batch_size=8, progress=False)
    assert len(h.history["loss"]) == 1
