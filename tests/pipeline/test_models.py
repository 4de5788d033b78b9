import numpy as np
import pytest

keras = pytest.importorskip("keras")

from digits.errors import DigitsError  # noqa: E402
from digits.loading import load_keras as load_model  # noqa: E402
from digits.pipeline.models import build_cnn, build_keras_io, build_mlp  # noqa: E402
from digits.pipeline.params import parse_section  # noqa: E402
from digits.pipeline.training import build_model, configure_runtime, learning_rate, train  # noqa: E402


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
    p = parse_section("train", {"model": "cnn", "cnn": {"filters": [4], "dropout": 0.0},
                                "augment": {"shift": 0.2, "rotation_deg": 20, "zoom": 0.2}})
    m = build_model(p)
    augs = [layer for layer in m.layers if layer.name.startswith("aug_")]
    assert augs
    x = np.random.default_rng(1).random((4, 28, 28), dtype=np.float32)
    # The images as the convolutions get them: warped in training, untouched in inference.
    seen = keras.Model(m.input, augs[-1].output)
    assert np.array_equal(seen(x, training=False)[..., 0], x)
    warped = np.asarray(seen(x, training=True))[..., 0]
    assert all(np.abs(warped[i] - x[i]).mean() > 0.05 for i in range(len(x)))
    # and so the model (no dropout, no batch norm here): inference is repeatable, training is not
    assert np.array_equal(m(x, training=False), m(x, training=False))
    assert not np.allclose(m(x, training=True), m(x, training=False))


@pytest.mark.parametrize("augment, name", [({"stroke": 0.5}, "aug_stroke"), ({"resample": 1.0}, "aug_resample"),
                                           ({"shear_deg": 30}, "aug_affine")])
def test_each_augmentation_acts_in_training_mode_only(augment, name):
    p = parse_section("train", {"model": "cnn", "cnn": {"filters": [4]}, "augment": augment})
    layer = build_model(p).get_layer(name)
    from conftest import synthetic_digits

    x = (synthetic_digits(16, seed=3)[0] / 255).astype(np.float32)[..., None]
    assert np.array_equal(layer(x, training=False), x)
    changed = np.abs(np.asarray(layer(x, training=True)) - x).reshape(16, -1).max(axis=1) > 0.1
    assert changed.sum() >= (4 if name == "aug_stroke" else 16), f"{name} changed {changed.sum()} of 16"


def test_fused_batchnorm_matches_keras_batchnormalization():
    """Same outputs and moving statistics as Keras' layer, except that the moving variance is
    updated with the unbiased batch variance (what TensorFlow's fused kernel returns): Keras'
    times n/(n-1), n = batch × height × width values per channel."""
    from digits.layers import FusedBatchNorm

    rng = np.random.default_rng(0)
    x = (rng.normal(2.0, 3.0, (8, 6, 6, 5)) * np.arange(1, 6)).astype(np.float32)
    fused = FusedBatchNorm(momentum=0.9, epsilon=1e-3)
    ref = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-3)
    gamma, beta = rng.normal(1, 0.2, 5).astype(np.float32), rng.normal(0, 0.5, 5).astype(np.float32)
    for layer in (fused, ref):
        layer.build(x.shape)
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    for step in range(3):
        batch = x * (1 + step)  # statistics that move
        assert np.allclose(fused(batch, training=True), ref(batch, training=True), atol=1e-5)
        assert np.allclose(fused.moving_mean, ref.moving_mean, rtol=1e-5, atol=1e-5)
    # the moving variance: the same recurrence, fed the unbiased batch variance
    expected = np.ones(5)
    for step in range(3):
        expected = 0.9 * expected + 0.1 * (x * (1 + step)).reshape(-1, 5).var(axis=0, ddof=1)
    assert np.allclose(fused.moving_variance, expected, rtol=1e-5)
    assert not np.allclose(ref.moving_variance, expected, rtol=1e-4)  # Keras: ddof=0
    # inference normalises with the moving statistics, as Keras does given the same ones
    ref.moving_variance.assign(fused.moving_variance)
    assert np.allclose(fused(x, training=False), ref(x, training=False), atol=1e-5)
    assert not np.allclose(fused(x, training=False), fused(x, training=True), atol=1e-2)


def test_onecycle_schedule_warms_up_then_decays():
    p = parse_section("train", {"epochs": 10, "lr": 0.01, "schedule": "onecycle", "warmup_fraction": 0.2})
    sched = learning_rate(p, steps_per_epoch=10)
    lrs = [float(sched(s)) for s in (0, 20, 60, 99)]
    assert lrs[0] == pytest.approx(0.01 / 25) and lrs[1] == pytest.approx(0.01)
    assert lrs[1] > lrs[2] > lrs[3] and lrs[3] < 0.001


def _tiny_train(tiny, **over):
    from digits.pipeline.data import preprocess

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
    for wa, wb in zip(a.model.get_weights(), b.model.get_weights(), strict=True):
        assert np.array_equal(wa, wb)


class _Snapshots(keras.callbacks.Callback):
    """The trainable weights after every batch and every epoch, as fit() leaves them."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[np.ndarray]] = []
        self.epochs: list[list[np.ndarray]] = []

    def on_train_batch_end(self, batch, logs=None) -> None:
        self.batches.append([w.value.numpy().copy() for w in self.model.trainable_weights])

    def on_epoch_end(self, epoch, logs=None) -> None:
        self.epochs.append([w.value.numpy().copy() for w in self.model.trainable_weights])


def _same(a: list[np.ndarray], b: list[np.ndarray], atol: float = 0.0) -> bool:
    return all(np.allclose(u, v, rtol=0, atol=atol) for u, v in zip(a, b, strict=True))


def test_early_stopping_stops_and_restores_the_best_epoch(tiny_mnist):
    from digits.pipeline.data import preprocess
    from digits.pipeline.training import train as fit

    d = preprocess(**tiny_mnist, val_fraction=0.2, seed=1999)
    p = parse_section("train", {"model": "cnn", "epochs": 30, "batch_size": 32, "lr": 0.01,
                                "early_stopping_patience": 2, "cnn": {"filters": [4, 8], "dropout": 0.0}})
    configure_runtime(p.seed)
    snaps = _Snapshots()
    r = fit(d["x_train"], d["y_train"], d["x_val"], d["y_val"], p, callbacks=[snaps], verbose=0)
    val = r.history["val_accuracy"]
    assert r.epochs_run < 30, val  # stopped early ...
    assert r.epochs_run == r.best_epoch + 2  # ... two epochs without a better val_accuracy
    assert max(val[r.best_epoch:]) <= val[r.best_epoch - 1]
    final = [w.value.numpy() for w in r.model.trainable_weights]
    assert _same(final, snaps.epochs[r.best_epoch - 1])  # the best epoch's weights came back
    assert not _same(final, snaps.epochs[-1], atol=1e-6)


def test_ema_leaves_the_moving_average_of_the_weights(tiny_mnist):
    """With train.ema the model fit() returns holds the exponential moving average of the
    weights after each step (Keras: the first step's weights, then m·avg + (1-m)·w)."""
    momentum = 0.9
    snaps = _Snapshots()
    from digits.pipeline.data import preprocess
    from digits.pipeline.training import train as fit

    d = preprocess(**tiny_mnist, val_fraction=0.2, seed=1999)
    p = parse_section("train", {"model": "cnn", "epochs": 2, "batch_size": 32, "lr": 0.01, "ema": momentum,
                                "cnn": {"filters": [4, 8], "dropout": 0.0}})
    configure_runtime(p.seed)
    r = fit(d["x_train"], d["y_train"], d["x_val"], d["y_val"], p, callbacks=[snaps], verbose=0)
    avg = snaps.batches[0]
    for w in snaps.batches[1:]:
        avg = [momentum * a + (1 - momentum) * b for a, b in zip(avg, w, strict=True)]
    final = [w.value.numpy() for w in r.model.trainable_weights]
    assert len(snaps.batches) == 2 * 5  # 160 images, batches of 32
    assert _same(final, avg, atol=1e-5)
    assert not _same(final, snaps.batches[-1], atol=1e-3)  # not simply the last step's weights


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
    from digits.pipeline.export import export_tflite
    from digits.recognize.tflite import TFLiteClassifier

    p = parse_section("train", {"model": "cnn", "cnn": {"filters": [4], "batchnorm": True},
                                "augment": {"zoom": 0.1}})
    m = build_model(p)
    size = export_tflite(m, tmp_path / "m.tflite")
    assert size == (tmp_path / "m.tflite").stat().st_size > 1000
    x = np.random.default_rng(3).random((1030, 28, 28), dtype=np.float32)
    lite = TFLiteClassifier(tmp_path / "m.tflite").predict(x, batch_size=512)
    assert lite.shape == (1030, 10)
    assert np.abs(lite - m.predict(x, verbose=0)).max() < 1e-4
