"""The config package: schema, loading, overrides, builders (xpnet.config)."""
import copy

import pytest

import xpnet as xn
from xpnet import config as C


@pytest.mark.parametrize("raw, message", [
    ({"train": {"lr": "0.003"}}, "train.lr: expected a number, got '0.003' (str)"),
    ({"train": {"shuffle": "no"}}, "train.shuffle: expected true or false, got 'no' (str)"),
    ({"train": {"epochs": 2.7}}, "train.epochs: expected an integer, got 2.7 (float)"),
    ({"train": {"epochs": True}}, "train.epochs: expected an integer, got True (bool)"),
    ({"train": {"shuffle": 1}}, "train.shuffle: expected true or false, got 1 (int)"),
    ({"model": {"hidden": [64, "a"]}}, "model.hidden: expected a list of integers"),
    ({"train": {"optimizer": "lbfgs"}}, "train.optimizer: expected one of sgd, adam, adamw, nadam, rmsprop, adagrad; got 'lbfgs'"),
    ({"data": {"validation_split": 1.5}}, "data.validation_split: expected a value < 1"),
    ({"train": {"betas": [0.9]}}, "train.betas: expected 2 values"),
    ({"train": {"backend": "tensorflow"}}, "train.backend: expected one of auto, numpy"),
    ({"model": {"activation": "swish"}}, "model.activation: expected one of"),
    ({"data": {"validation_split": 0.0}, "train": {"early_stopping": 3}}, "train.early_stopping: needs a validation set"),
])
def test_types_and_values_are_checked_with_the_key_named(raw, message):
    with pytest.raises(C.ConfigError) as e:
        C.load_config(raw)
    assert message in str(e.value)


def test_unknown_keys_name_the_key_and_list_the_valid_ones():
    with pytest.raises(C.ConfigError, match=r"train\.epochz: unknown key; valid keys in \[train\]: backend, batch_size"):
        C.load_config({"train": {"epochz": 3}})
    with pytest.raises(C.ConfigError, match="foo: unknown key; valid keys at the top level: data, description"):
        C.load_config({"foo": 1})
    with pytest.raises(C.ConfigError, match=r"model\.depth: unknown key; valid keys in \[model\]: activation"):
        C.load_config({"model": {"depth": 3}})


def test_defaults_schema_and_every_key_has_a_type_and_doc():
    cfg = C.load_config()
    assert cfg == C.DEFAULTS and cfg is not C.DEFAULTS
    assert cfg["data"]["validation_split"] == 0.1 and cfg["train"]["backend"] == "auto"
    rows = C.describe_keys()
    assert len(rows) == 2 + sum(len(C.SCHEMA[s]) for s in ("data", "model", "train"))
    for key, kind, default, doc in rows:
        assert kind in ("int", "number", "bool", "str", "list[int]", "list[number]") and doc, key
    # numbers become floats; a validated config validates to itself
    assert C.load_config({"train": {"lr": 1}})["train"]["lr"] == 1.0
    assert C.validate(copy.deepcopy(cfg)) == cfg


def test_packaged_names_paths_and_dicts(tmp_path):
    assert {"mnist1d_best", "mnist1d_baseline", "report000"} <= set(C.list_configs())
    by_name = C.load_config("mnist1d_best")
    by_path = C.load_config(C.list_configs()["mnist1d_best"])
    assert by_name == by_path and by_name["model"]["type"] == "mlp" and by_name["model"]["hidden"] == [256, 256]
    assert C.load_config("configs/mnist1d_best.toml") == by_name
    f = tmp_path / "c.toml"
    f.write_text('[train]\nlr = "0.003"\n')
    with pytest.raises(C.ConfigError, match=r"c\.toml: train\.lr: expected a number"):
        C.load_config(f)
    with pytest.raises(FileNotFoundError, match="no such file or packaged config 'nope'"):
        C.load_config("nope")
    assert C.load_config({"model": "mlp:64,32"})["model"]["hidden"] == [64, 32]


def test_overrides_dotted_keys_and_toml_strings():
    cfg = C.load_config()
    new = C.apply_overrides(cfg, {"train.lr": 0.1, "model.hidden": [64]})
    assert new["train"]["lr"] == 0.1 and new["model"]["hidden"] == [64] and cfg["train"]["lr"] == 0.01
    assert C.parse_override("train.lr=1e-3") == ("train.lr", 0.001)
    assert C.parse_override("model.hidden=[64, 32]") == ("model.hidden", [64, 32])
    assert C.parse_override("train.shuffle=true") == ("train.shuffle", True)
    assert C.parse_override("data.dataset=path/to/folder") == ("data.dataset", "path/to/folder")
    s = C.apply_overrides(cfg, ["train.weight_decay=1e-4", "model=mlp:32", "model.dropout=0.1", "name=x"])
    assert s["train"]["weight_decay"] == 1e-4 and s["model"]["type"] == "mlp" and s["model"]["dropout"] == 0.1
    assert s["name"] == "x"
    with pytest.raises(C.ConfigError, match="train.lr: expected a number, got 'abc'"):
        C.apply_overrides(cfg, ["train.lr=abc"])
    with pytest.raises(C.ConfigError, match=r"train\.lrr: unknown key; valid keys in \[train\]"):
        C.apply_overrides(cfg, {"train.lrr": 1.0})
    with pytest.raises(C.ConfigError, match="expected key=value"):
        C.parse_override("train.lr")


def test_builders_use_tables_of_names():
    xn.manual_seed(0)
    m = C.build_model(C.load_config("mnist1d_best")["model"], 40, 10)
    assert m.num_parameters() > 0 and C.build_model("baseline", 40, 10).num_parameters() == 15_210
    names = [type(x).__name__ for x in m.modules()]
    assert "BatchNorm1d" in names and "GELU" in names and "Residual" in names and "Dropout" in names
    for name, cls in (("sgd", "SGD"), ("adam", "Adam"), ("adamw", "AdamW"), ("nadam", "NAdam"), ("rmsprop", "RMSprop"),
                      ("adagrad", "Adagrad")):
        t = C.load_config({"train": {"optimizer": name, "momentum": 0.9}})["train"]
        assert type(C.build_optimizer(m.parameters(), t)).__name__ == cls
    opt = C.build_optimizer(m.parameters(), C.DEFAULTS["train"])
    assert C.build_scheduler(opt, C.DEFAULTS["train"]) is None
    t = C.load_config({"train": {"scheduler": "cosine", "warmup_epochs": 2, "epochs": 10}})["train"]
    assert type(C.build_scheduler(opt, t)).__name__ == "SequentialLR"
    assert set(C.SCHEDULERS) == set(C.SCHEMA["train"]["scheduler"].choices)


def test_builders_live_only_in_config():
    """The model/optimiser/schedule builders are xpnet.config's; the old xpnet.nn.builders shim is gone."""
    import importlib

    with pytest.raises(ImportError):
        importlib.import_module("xpnet.nn.builders")
    assert isinstance(C.build_model("baseline", 40, 10), C.Baseline)
    assert set(C.EXTRACTORS) | {"baseline", "mlp"} == set(C.SCHEMA["model"]["type"].choices)


def test_clip_grad_norm_is_applied_by_fit():
    """fit(clip_grad_norm=c) clips every step: a huge learning step stays bounded by lr·c."""
    import numpy as np

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 8)).astype(np.float32) * 100, rng.integers(0, 3, 64)
    deltas = {}
    for clip in (None, 1e-3):
        xn.manual_seed(0)
        model = xn.nn.Linear(8, 3)
        w0 = xn.to_numpy(model.weight).copy()
        opt = xn.optim.SGD(model.parameters(), lr=1.0)
        xn.fit(model, (X, y), optimizer=opt, epochs=1, batch_size=64, progress=False, clip_grad_norm=clip)
        deltas[clip] = float(np.linalg.norm(xn.to_numpy(model.weight) - w0))
    assert deltas[1e-3] <= 1e-3 * 1.01 < deltas[None]
