"""The project's own Keras layers: what training builds into a model and what loading a
saved .keras model needs (so loading one does not import the training code).

FusedBatchNorm is batch normalisation as TensorFlow's fused kernel. The others are
training-only augmentation that travels inside the model.

One random affine warp (rotation, zoom, shear, shift) per image costs one resampling
pass; Keras' separate RandomRotation/RandomZoom/RandomTranslation layers cost three.
Random stroke thickening/thinning imitates the pens and brushes of real digits; a random
blur, thresholded again, imitates what normalisation makes of a blurred photo or a tiny crop.
All are identity at inference, so the exported model is unaffected.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers, ops


@keras.saving.register_keras_serializable(package="digits")
class RandomAffine(layers.Layer):
    """Random rotation (±deg), zoom (1±zoom), shear (±deg) and shift (±fraction of size)."""

    def __init__(self, rotation_deg: float = 0.0, zoom: float = 0.0, shear_deg: float = 0.0,
                 shift: float = 0.0, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rotation_deg, self.zoom, self.shear_deg, self.shift, self.seed = rotation_deg, zoom, shear_deg, shift, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training: bool | None = None):
        if not training:
            return x
        n = ops.shape(x)[0]
        h, w = x.shape[1], x.shape[2]

        def uniform(bound: float):
            return keras.random.uniform((n,), -bound, bound, seed=self.seed_generator)

        rot = uniform(math.radians(self.rotation_deg))
        shear = uniform(math.radians(self.shear_deg))
        inv_zoom = 1.0 / (1.0 + uniform(self.zoom))
        tx, ty = uniform(self.shift) * w, uniform(self.shift) * h
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        # Inverse map (output pixel -> input pixel) of: scale, shear and rotate about the
        # centre, then translate; affine_transform wants it as [a0 a1 a2 b0 b1 b2 0 0].
        a0 = ops.cos(rot) * inv_zoom
        a1 = ops.sin(rot + shear) * inv_zoom
        b0 = -ops.sin(rot) * inv_zoom
        b1 = ops.cos(rot + shear) * inv_zoom
        ux, uy = cx + tx, cy + ty
        a2 = cx - a0 * ux - a1 * uy
        b2 = cy - b0 * ux - b1 * uy
        zeros = ops.zeros_like(a0)
        transform = ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
        out = ops.image.affine_transform(ops.cast(x, "float32"), ops.cast(transform, "float32"),
                                         interpolation="bilinear", fill_mode="constant", fill_value=0.0)
        return ops.cast(out, x.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "rotation_deg": self.rotation_deg, "zoom": self.zoom,
                "shear_deg": self.shear_deg, "shift": self.shift, "seed": self.seed}


@keras.saving.register_keras_serializable(package="digits")
class RandomStroke(layers.Layer):
    """With probability `p` each, thicken (2×2 grey dilation) or thin (erosion) the strokes."""

    def __init__(self, p: float = 0.0, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.p, self.seed = p, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training: bool | None = None):
        if not training or self.p <= 0:
            return x
        thick = ops.max_pool(x, 2, strides=1, padding="same")
        thin = -ops.max_pool(-x, 2, strides=1, padding="same")
        u = keras.random.uniform((ops.shape(x)[0], 1, 1, 1), seed=self.seed_generator)
        return ops.where(u < self.p, thick, ops.where(u > 1.0 - self.p, thin, x))

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "p": self.p, "seed": self.seed}


@keras.saving.register_keras_serializable(package="digits")
class RandomResample(layers.Layer):
    """With probability `p`, redraw the image from a low-resolution copy: 2×2 average, then
    bilinear back to 28×28, as a digit from a 12-16 px crop or a blurred photo comes out of
    normalisation (soft, blocky edges)."""

    def __init__(self, p: float = 0.0, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.p, self.seed = p, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training: bool | None = None):
        if not training or self.p <= 0:
            return x
        h, w = x.shape[1], x.shape[2]
        low = ops.average_pool(x, 2, strides=2, padding="valid")
        up = ops.image.resize(low, (h, w), interpolation="bilinear")
        u = keras.random.uniform((ops.shape(x)[0], 1, 1, 1), seed=self.seed_generator)
        return ops.where(u < self.p, ops.cast(up, x.dtype), x)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "p": self.p, "seed": self.seed}


@keras.saving.register_keras_serializable(package="digits")
class RandomBlur(layers.Layer):
    """With probability `p`, the digit as normalisation redraws a blurred or tiny source:
    a Gaussian blur (sigma one of SIGMAS pixels), thresholded again at half its maximum
    with a one-pixel ramp. Stroke width stays about the same; what was thinner than the
    blur is lost: holes and gaps between strokes close, hooks and serifs shorten."""

    SIGMAS = (0.8, 1.4, 2.0, 2.6)

    def __init__(self, p: float = 0.0, seed: int | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.p, self.seed = p, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    @staticmethod
    def _blur(x, sigma: float):
        r = math.ceil(3 * sigma)
        g = [math.exp(-0.5 * (i / sigma) ** 2) for i in range(-r, r + 1)]
        g = ops.convert_to_tensor([v / sum(g) for v in g], dtype=x.dtype)
        x = ops.conv(x, ops.reshape(g, (-1, 1, 1, 1)), padding="same")
        return ops.conv(x, ops.reshape(g, (1, -1, 1, 1)), padding="same")

    def call(self, x, training: bool | None = None):
        if not training or self.p <= 0:
            return x
        x32 = ops.cast(x, "float32")
        u = ops.reshape(keras.random.uniform((ops.shape(x)[0], 1, 1, 1), seed=self.seed_generator), (-1,))
        out = x32
        for i, sigma in enumerate(self.SIGMAS):
            # Only the images drawn for this sigma (p/4 of the batch) are blurred: blurring the
            # whole batch four times was half of a training epoch. A 1-channel convolution
            # gives each image the same values whichever images share its batch.
            chosen = (u >= i * self.p / len(self.SIGMAS)) & (u < (i + 1) * self.p / len(self.SIGMAS))
            idx = tf.where(chosen)
            b = self._blur(tf.gather_nd(x32, idx), sigma)
            peak = ops.maximum(ops.max(b, axis=(1, 2, 3), keepdims=True), 1e-6)
            redrawn = ops.clip((b / peak - 0.5) * 2.0 + 0.5, 0.0, 1.0)
            out = tf.tensor_scatter_nd_update(out, idx, redrawn)
        return ops.cast(out, x.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "p": self.p, "seed": self.seed}


@keras.saving.register_keras_serializable(package="digits")
class FusedBatchNorm(layers.Layer):
    """Batch normalisation as TensorFlow's single fused kernel.

    Keras 3's BatchNormalization composes it from generic ops: in an earlier session (an
    AVX512-BF16 CPU, timed by hand, no script kept; README "Speed: the benchmark") it made
    a small convnet's CPU epoch 3.5x slower than no batch norm; this fused layer costs
    about 1.4x. Statistics stay float32 under mixed precision. Outputs and moving mean
    equal Keras'; the moving variance is fed the unbiased batch variance that the kernel
    returns (Keras': the biased one, smaller by (n-1)/n for n values per channel in a
    batch, 0.0007 % at batch 256 on 24x24 maps). tests/pipeline/test_models.py checks all of this.
    """

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.momentum = momentum
        self.epsilon = epsilon

    def build(self, input_shape: tuple) -> None:
        c = (input_shape[-1],)
        self.gamma = self.add_weight(shape=c, initializer="ones", name="gamma", autocast=False)
        self.beta = self.add_weight(shape=c, initializer="zeros", name="beta", autocast=False)
        self.moving_mean = self.add_weight(shape=c, initializer="zeros", trainable=False,
                                           name="moving_mean", autocast=False)
        self.moving_variance = self.add_weight(shape=c, initializer="ones", trainable=False,
                                               name="moving_variance", autocast=False)

    def call(self, x: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        if training:
            empty = tf.constant([], tf.float32)
            y, mean, var, *_ = tf.raw_ops.FusedBatchNormV3(
                x=x, scale=self.gamma.value, offset=self.beta.value, mean=empty, variance=empty,
                epsilon=self.epsilon, is_training=True)
            m = self.momentum
            self.moving_mean.assign(m * self.moving_mean.value + (1 - m) * mean)
            self.moving_variance.assign(m * self.moving_variance.value + (1 - m) * var)
            return y
        y, *_ = tf.raw_ops.FusedBatchNormV3(
            x=x, scale=self.gamma.value, offset=self.beta.value, mean=self.moving_mean.value,
            variance=self.moving_variance.value, epsilon=self.epsilon, is_training=False)
        return y

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon}
