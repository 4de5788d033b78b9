"""Model builders by name. Each is a function of explicit arguments.

Every model takes float32 images of shape (28, 28) in [0, 1], light ink on black (the
MNIST convention that `digits.recognize.normalize` produces from real images) and outputs softmax
probabilities over the ten digits. Augmentation layers sit inside the model: Keras
applies them only in training, so prediction never sees them and cannot drift.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from digits import IMAGE_SIZE, NUM_CLASSES
from digits.layers import FusedBatchNorm, RandomAffine, RandomBlur, RandomResample, RandomStroke


def augmentation(*, shift: float, rotation_deg: float, zoom: float, shear_deg: float = 0.0,
                 stroke: float = 0.0, resample: float = 0.0, blur: float = 0.0,
                 seed: int) -> list[layers.Layer]:
    """Training-only random stroke width, low-resolution redraw, blur and affine warp (empty
    when all are zero)."""
    out: list[layers.Layer] = []
    if stroke > 0:
        out.append(RandomStroke(stroke, seed=seed, name="aug_stroke"))
    if resample > 0:
        out.append(RandomResample(resample, seed=seed + 2, name="aug_resample"))
    if blur > 0:
        out.append(RandomBlur(blur, seed=seed + 3, name="aug_blur"))
    if shift or rotation_deg or zoom or shear_deg:
        out.append(RandomAffine(rotation_deg=rotation_deg, zoom=zoom, shear_deg=shear_deg, shift=shift,
                                seed=seed + 1, name="aug_affine"))
    return out


def _inputs() -> tuple[keras.KerasTensor, keras.KerasTensor]:
    inp = keras.Input((IMAGE_SIZE, IMAGE_SIZE), name="image")
    return inp, layers.Reshape((IMAGE_SIZE, IMAGE_SIZE, 1), name="channel")(inp)


def build_mlp(*, units: int = 128) -> keras.Model:
    """The network the project started from: Flatten → Dense(units, relu) → Dense(10, softmax)."""
    inp = keras.Input((IMAGE_SIZE, IMAGE_SIZE), name="image")
    x = layers.Flatten()(inp)
    x = layers.Dense(units, activation="relu")(x)
    out = layers.Dense(NUM_CLASSES, activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="mlp")


def build_keras_io() -> keras.Model:
    """The keras-io "Simple MNIST convnet", the reference the benchmark races against."""
    inp, x = _inputs()
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.5)(x)
    out = layers.Dense(NUM_CLASSES, activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="keras_io")


def build_cnn(*, filters: Sequence[int], convs_per_block: int, batchnorm: bool, dense: int,
              dropout: float, first_kernel: int = 3, bn_momentum: float = 0.9,
              augment: Sequence[layers.Layer] = ()) -> keras.Model:
    """A VGG-style convnet: per block `convs_per_block` 3×3 convs (+BN) + ReLU, then 2×2 max-pool.

    The first conv is 'valid' (28→26 or 24) so that three pools end on a 3×3 map, and may
    be 5×5: on one input channel a wider first kernel costs little.
    """
    inp, x = _inputs()
    for aug in augment:
        x = aug(x)
    for b, f in enumerate(filters):
        for c in range(convs_per_block):
            first = b == 0 and c == 0
            x = layers.Conv2D(f, first_kernel if first else 3, padding="valid" if first else "same",
                              use_bias=not batchnorm, name=f"conv{b}_{c}")(x)
            if batchnorm:
                x = FusedBatchNorm(momentum=bn_momentum, name=f"bn{b}_{c}")(x)
            x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2, name=f"pool{b}")(x)
    x = layers.Flatten()(x)
    if dense:
        x = layers.Dropout(dropout)(x)
        x = layers.Dense(dense, use_bias=not batchnorm)(x)
        if batchnorm:  # (N, units) is not the 4-D input the fused kernel takes; small anyway
            x = layers.BatchNormalization(momentum=bn_momentum)(x)
        x = layers.ReLU()(x)
    x = layers.Dropout(dropout)(x)
    out = layers.Dense(NUM_CLASSES, activation="softmax", name="probs")(x)
    return keras.Model(inp, out, name="cnn")
