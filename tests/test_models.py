import numpy as np
import pytest

keras = pytest.importorskip("keras")

from digits.errors import DigitsError  # noqa: E402
from digits.models import build_cnn, build_keras_io, build_mlp, load_model  # noqa: E402
from digits.params import parse_section  # noqa: E402
from digits.training import build_model, configure_runtime, learning_rate, train  # noqa: E402


@pytest.mark.parametrize("model", [build_mlp(units=16), build_keras_io(),
                                   build_cnn(filters=[4, 8], convs_per_block=2, batchnorm=True, dense=16,
                                             dropout=0.1)])
def test_builders_map_images_to_probabilities(model):
    assert model.input_shape == (None, 28, 28)
    out = model.predict(np.random.default_rng(0).random((3, 28, 28), dtype=np.float32), verbose=0)
    assert out.shape == (3, 10)
    assert np.allclose(out.sum(axis=1), 1.0, atol=1e-5)


def test_mlp_is_the_original_network():
    m = build_mlp(units=128)
    assert [type(layer).__name__ for layer in m.layers] == ["InputLayer", "Flatten", "Dense", "Dense"]
    assert m.count_params() == 784 * 128 + 128 + 128 * 10 + 10


def test_augmentation_is_training_only():
    p = parse_section("train", {"model": "cnn", "cnn": {"filters": [4]},
                                "augment": {"shift": 0.2, "rotation_deg": 20, "zoom": 0.2}})
    m = build_model(p)
    assert any(layer.name.startswith("aug_") for layer in m.layers)
    x = np.random.default_rng(1).random((4, 28, 28), dtype=np.float32)
    assert np.array_equal(m(x, training=False), m(x, training=False))


def test_onecycle_schedule_warms_up_then_decays():
    p = parse_section("train", {"epochs": 10, "lr": 0.01, "schedule": "onecycle", "warmup_fraction": 0.2})
    sched = learning_rate(p, steps_per_epoch=10)
    lrs = [float(sched(s)) for s in (0, 20, 60, 99)]
    assert lrs[0] == pytest.approx(0.01 / 25) and lrs[1] == pytest.approx(0.01)
    assert lrs[1] > lrs[2] > lrs[3] and lrs[3] < 0.001


def _tiny_train(tiny, **over):
    from digits.data import preprocess

    d = preprocess(**tiny, val_fraction=0.2, seed=1999)
    p = parse_section("train", {"model": "cnn", "epochs": 3, "batch_size": 32, "lr": 0.01,
                                "cnn": {"filters": [4, 8], "dropout": 0.0}, **over})
    configure_runtime(p.seed)
    return train(d["x_train"], d["y_train"], d["x_val"], d["y_val"], p, verbose=0)


def test_training_learns_and_is_deterministic(tiny_mnist):
    a = _tiny_train(tiny_mnist)
    b = _tiny_train(tiny_mnist)
    assert a.epochs_run == 3 and len(a.history["val_accuracy"]) == 3
    assert a.history["val_accuracy"][-1] > 0.5  # chance is 0.1
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights()):
        assert np.array_equal(wa, wb)


def test_mixed_precision_training_returns_float32_model(tiny_mnist):
    r = _tiny_train(tiny_mnist, precision="mixed_bfloat16", epochs=1)
    assert {w.dtype for w in r.model.weights if "seed" not in w.path} == {"float32"}
    assert r.model.layers[-1].compute_dtype == "float32"
    assert r.model.layers[2].compute_dtype == "float32"


def test_load_model_safe_mode_and_shape_checks(tmp_path):
    bad_shape = keras.Sequential([keras.Input((32, 32)), keras.layers.Flatten(), keras.layers.Dense(10)])
    bad_shape.save(tmp_path / "bad.keras")
    with pytest.raises(DigitsError, match=r"input shape .* does not fit"):
        load_model(str(tmp_path / "bad.keras"))

    inp = keras.Input((28, 28))
    out = keras.layers.Dense(10)(keras.layers.Lambda(lambda t: keras.ops.reshape(t, (-1, 784)))(inp))
    keras.Model(inp, out).save(tmp_path / "lambda.keras")
    with pytest.raises(DigitsError, match="cannot load model.*safe_mode"):
        load_model(str(tmp_path / "lambda.keras"))

    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    with pytest.raises(DigitsError, match="cannot load model"):
        load_model(str(tmp_path / "junk.keras"))
    with pytest.raises(DigitsError, match="no such model file"):
        load_model(str(tmp_path / "missing.keras"))


def test_saved_cnn_with_custom_layers_loads_and_predicts_the_same(tmp_path):
    p = parse_section("train", {"model": "cnn", "cnn": {"filters": [4, 8], "batchnorm": True, "dense": 8},
                                "augment": {"shift": 0.1, "rotation_deg": 5, "stroke": 0.2}})
    m = build_model(p)
    m.save(tmp_path / "m.keras")
    loaded = load_model(str(tmp_path / "m.keras"))
    x = np.random.default_rng(2).random((5, 28, 28), dtype=np.float32)
    assert np.allclose(loaded.predict(x, verbose=0), m.predict(x, verbose=0), atol=1e-6)


def test_tflite_export_matches_keras(tmp_path):
    from digits.export import export_tflite
    from digits.tflite import TFLiteClassifier

    p = parse_section("train", {"model": "cnn", "cnn": {"filters": [4], "batchnorm": True},
                                "augment": {"zoom": 0.1}})
    m = build_model(p)
    size = export_tflite(m, tmp_path / "m.tflite")
    assert size == (tmp_path / "m.tflite").stat().st_size > 1000
    x = np.random.default_rng(3).random((1030, 28, 28), dtype=np.float32)
    lite = TFLiteClassifier(tmp_path / "m.tflite").predict(x, batch_size=512)
    assert lite.shape == (1030, 10)
    assert np.abs(lite - m.predict(x, verbose=0)).max() < 1e-4
