"""Deterministic training: seeding, the model named in params, schedule, callbacks."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from digits import NUM_CLASSES
from digits.pipeline.models import augmentation, build_cnn, build_keras_io, build_mlp
from digits.pipeline.params import TrainParams
from digits.pipeline.styles import with_styles


def configure_runtime(seed: int, threads: int = 0) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow ops deterministic.

    Must run before any TensorFlow op executes (thread settings are frozen after that).
    """
    if threads:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def build_model(p: TrainParams, *, with_augmentation: bool = True) -> keras.Model:
    """The model `p.model` with its architecture params (float32 unless p.precision says)."""
    if p.model == "mlp":
        return build_mlp(units=p.mlp.units)
    if p.model == "keras_io":
        return build_keras_io()
    a = p.augment
    aug = augmentation(shift=a.shift, rotation_deg=a.rotation_deg, zoom=a.zoom, shear_deg=a.shear_deg,
                       stroke=a.stroke, resample=a.resample, blur=a.blur, seed=p.seed) if with_augmentation else []
    c = p.cnn
    return build_cnn(filters=c.filters, convs_per_block=c.convs_per_block, batchnorm=c.batchnorm,
                     dense=c.dense, dropout=c.dropout, first_kernel=c.first_kernel,
                     bn_momentum=c.bn_momentum, augment=aug)


def learning_rate(p: TrainParams, steps_per_epoch: int) -> float | keras.optimizers.schedules.LearningRateSchedule:
    """Constant, or one-cycle: linear warm-up from lr/25 to lr, then cosine decay to ~0."""
    if p.schedule == "constant":
        return p.lr
    total = p.epochs * steps_per_epoch
    warm = int(total * p.warmup_fraction)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=p.lr / 25.0, decay_steps=max(1, total - warm), alpha=1e-3,
        warmup_target=p.lr, warmup_steps=warm)


@dataclass
class TrainResult:
    model: keras.Model
    history: dict[str, list[float]]
    epochs_run: int
    best_epoch: int
    seconds: float


def _targets(y: np.ndarray, label_smoothing: float) -> np.ndarray:
    # Keras' label smoothing needs one-hot targets; plain integer labels are cheaper otherwise.
    return keras.utils.to_categorical(y, NUM_CLASSES) if label_smoothing else y


def train(x_train: np.ndarray, y_train: np.ndarray, x_val: np.ndarray, y_val: np.ndarray,
          p: TrainParams, *, callbacks: Sequence[keras.callbacks.Callback] = (),
          verbose: int | str = 2) -> TrainResult:
    """Build, compile and fit the model in `p`; return it as float32 with its final weights
    (the best epoch's when early stopping restores them)."""
    keras.mixed_precision.set_global_policy(p.precision)
    try:
        model = build_model(p)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    steps = math.ceil(len(x_train) / p.batch_size)
    if p.label_smoothing:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=p.label_smoothing)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy()
    # With use_ema, Keras swaps the moving-average weights in when fit() ends.
    optimizer = keras.optimizers.Adam(learning_rate(p, steps), use_ema=p.ema > 0,
                                      ema_momentum=p.ema or 0.99)
    model.compile(optimizer=optimizer, loss=loss,
                  metrics=["accuracy"], jit_compile=False)  # XLA is 5x slower on CPU here
    cbs: list[keras.callbacks.Callback] = list(callbacks)
    if p.early_stopping_patience:
        cbs.append(keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=p.early_stopping_patience,
                                                 restore_best_weights=True, verbose=1))
    if p.augment.styles:
        # label-dependent, so drawn once here rather than by a layer inside the model
        x_train, restyled = with_styles(x_train, y_train, p.augment.styles, p.seed)
        print(f"train: {restyled:,} digits redrawn in handwriting styles MNIST lacks (flagged 1s, crossed 7s)")
    t0 = time.perf_counter()
    hist = model.fit(x_train, _targets(y_train, p.label_smoothing), batch_size=p.batch_size, epochs=p.epochs,
                     validation_data=(x_val, _targets(y_val, p.label_smoothing)), shuffle=True,
                     callbacks=cbs, verbose=verbose)
    seconds = time.perf_counter() - t0
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    val_acc = history.get("val_accuracy", [0.0])
    return TrainResult(model=to_float32(model, p), history=history, epochs_run=len(val_acc),
                       best_epoch=int(np.argmax(val_acc)) + 1, seconds=seconds)


def to_float32(model: keras.Model, p: TrainParams) -> keras.Model:
    """A float32 copy (same weights) so the saved and exported model is plain float32."""
    if p.precision == "float32":
        return model
    clone = build_model(p)
    clone.set_weights(model.get_weights())
    return clone
