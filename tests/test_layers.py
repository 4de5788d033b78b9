"""RandomBlur: the training-time imitation of what normalisation makes of a blurred source."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from digits.layers import RandomBlur


def ring(size: int = 28, outer: float = 7.0, inner: float = 4.5) -> np.ndarray:
    """A '0'-like ring with a hole a little wider than its stroke, as a (1, size, size, 1) batch."""
    yy, xx = np.indices((size, size)) - (size - 1) / 2
    r = np.hypot(yy, xx)
    return ((r <= outer) & (r >= inner)).astype(np.float32)[None, :, :, None]


def test_identity_at_inference_and_when_off() -> None:
    x = np.repeat(ring(), 4, axis=0)
    np.testing.assert_array_equal(np.asarray(RandomBlur(1.0, seed=1)(x, training=False)), x)
    np.testing.assert_array_equal(np.asarray(RandomBlur(0.0, seed=1)(x, training=True)), x)


def test_blur_closes_what_is_thinner_than_it_and_keeps_the_range() -> None:
    x = np.repeat(ring(inner=2.5), 64, axis=0)  # a hole 5 px across, as the loop of a 9
    out = np.asarray(RandomBlur(1.0, seed=1999)(x, training=True))
    assert out.shape == x.shape and out.min() >= 0.0 and out.max() <= 1.0
    centre = out[:, 13:15, 13:15, 0].mean(axis=(1, 2))
    # Every image was redrawn (p = 1) and the widest blur fills the hole; the narrow ones keep it.
    assert (np.abs(out - x).max(axis=(1, 2, 3)) > 0.1).all()
    assert centre.max() > 0.5 and centre.min() < 0.5
    # The stroke is still there at full strength: a redraw, not a smear.
    assert out[:, 14, 14 + 5, 0].min() > 0.9


def test_the_redraw_is_the_ramp_the_normaliser_draws_a_blurred_digit_with() -> None:
    """What the model is trained on for a blurred source is what `normalize._soft` hands
    it at prediction time: the blur's grey levels ramped from SOFT_LEVELS[0] to [1] of
    the peak (the same ramp as 'half maximum, one-pixel ramp': 2·b − 0.5)."""
    import keras.ops as ops

    from digits.recognize.normalize import SOFT_LEVELS

    lo, hi = SOFT_LEVELS
    x = np.repeat(ring(), 32, axis=0)
    out = np.asarray(RandomBlur(1.0, seed=3)(x, training=True))
    ramps = []
    for sigma in RandomBlur.SIGMAS:
        b = np.asarray(RandomBlur._blur(ops.convert_to_tensor(x[:1]), sigma))
        ramps.append(np.clip((b / b.max() - lo) / (hi - lo), 0.0, 1.0)[0])
    for img in out:
        assert min(np.abs(img - r).max() for r in ramps) < 1e-5


def test_probability_and_seed() -> None:
    x = np.repeat(ring(), 400, axis=0)
    a = np.asarray(RandomBlur(0.25, seed=7)(x, training=True))
    changed = (np.abs(a - x).max(axis=(1, 2, 3)) > 1e-6).mean()
    assert changed == pytest.approx(0.25, abs=0.07)
    b = np.asarray(RandomBlur(0.25, seed=7)(x, training=True))
    np.testing.assert_array_equal(a, b)


def test_saved_and_loaded_with_the_model(tmp_path) -> None:
    inp = keras.Input((28, 28, 1))
    model = keras.Model(inp, RandomBlur(0.3, seed=5, name="aug_blur")(inp))
    model.save(tmp_path / "m.keras")
    layer = keras.saving.load_model(tmp_path / "m.keras").get_layer("aug_blur")
    assert isinstance(layer, RandomBlur) and (layer.p, layer.seed) == (0.3, 5)


def test_only_the_chosen_images_are_blurred_and_exactly_as_blurring_the_whole_batch() -> None:
    """Blurring just the images drawn for each sigma gives, bit for bit, what blurring the
    whole batch four times and picking gave (the layer before it was made cheaper), so the
    trained model did not change."""
    import keras.ops as ops

    rng = np.random.default_rng(0)
    x = np.clip(rng.random((96, 28, 28, 1)) * 3 - 2, 0, 1).astype(np.float32)
    x[:48] = ring()
    for p, seed in [(0.3, 1999), (1.0, 4)]:
        out = np.asarray(RandomBlur(p, seed=seed)(x, training=True))
        u = keras.random.uniform((len(x), 1, 1, 1), seed=keras.random.SeedGenerator(seed))
        ref = ops.convert_to_tensor(x)
        for i, sigma in enumerate(RandomBlur.SIGMAS):
            b = RandomBlur._blur(ops.convert_to_tensor(x), sigma)
            peak = ops.maximum(ops.max(b, axis=(1, 2, 3), keepdims=True), 1e-6)
            redrawn = ops.clip((b / peak - 0.5) * 2.0 + 0.5, 0.0, 1.0)
            chosen = (u >= i * p / len(RandomBlur.SIGMAS)) & (u < (i + 1) * p / len(RandomBlur.SIGMAS))
            ref = ops.where(chosen, redrawn, ref)
        np.testing.assert_array_equal(out, np.asarray(ref))
        assert (np.abs(out - x).max(axis=(1, 2, 3)) > 0).mean() > (0.15 if p < 1 else 0.9)
