"""Typed parameters, one model per section of params.yaml.

Unknown or misspelt keys and out-of-range values are rejected before a stage does any
work, with one line naming the key (for example `train.epochs`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from digits import SEED
from digits.errors import DigitsError

PARAMS_FILE = "params.yaml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


PositiveInt = Annotated[int, Field(strict=True, ge=1)]
NonNegInt = Annotated[int, Field(strict=True, ge=0)]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class FetchParams(_Section):
    """Where to download MNIST from; tried in order after $MNIST_MIRROR."""

    mirrors: list[str] = Field(min_length=1)
    timeout_s: Annotated[float, Field(gt=0, le=600)] = 30.0
    attempts: Annotated[int, Field(strict=True, ge=1, le=10)] = 2

    @field_validator("mirrors")
    @classmethod
    def _urls(cls, mirrors: list[str]) -> list[str]:
        for url in mirrors:
            if not url.startswith(("http://", "https://", "file://")):
                raise ValueError(f"mirror {url!r} is not an http(s):// or file:// URL")
        return [m if m.endswith("/") else m + "/" for m in mirrors]


class PreprocessParams(_Section):
    """Validation split and optional stratified slicing (for quick runs and tests)."""

    val_fraction: Annotated[float, Field(gt=0.0, lt=0.5)] = 0.1
    seed: int = Field(default=SEED, strict=True)
    train_limit: NonNegInt = 0  # 0 keeps all 60,000 training images
    test_limit: NonNegInt = 0  # 0 keeps all 10,000 test images


class AugmentParams(_Section):
    """Random training-only distortions, applied by Keras layers inside the model."""

    shift: Annotated[float, Field(ge=0.0, le=0.3)] = 0.0  # fraction of the image size
    rotation_deg: Annotated[float, Field(ge=0.0, le=45.0)] = 0.0
    zoom: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0
    shear_deg: Annotated[float, Field(ge=0.0, le=45.0)] = 0.0
    stroke: Annotated[float, Field(ge=0.0, le=0.5)] = 0.0  # probability of thickening, and of thinning
    resample: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0  # probability of a low-resolution redraw
    blur: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0  # probability of a blurred, re-thresholded redraw
    styles: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0  # share of upright 1s flagged, of 7s crossed (before fit)


class MLPParams(_Section):
    units: PositiveInt = 128


class CNNParams(_Section):
    filters: list[PositiveInt] = Field(default=[32, 64, 128], min_length=1, max_length=3)
    convs_per_block: Annotated[int, Field(strict=True, ge=1, le=3)] = 1
    first_kernel: Literal[3, 5] = 3
    batchnorm: bool = Field(default=False, strict=True)
    bn_momentum: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.9
    dense: NonNegInt = 0  # 0 = no hidden dense layer before the classifier
    dropout: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.25


class TrainParams(_Section):
    """The model, its optimiser and schedule, and the knobs of every architecture."""

    model: Literal["mlp", "cnn", "keras_io"] = "cnn"
    seed: int = Field(default=SEED, strict=True)
    epochs: Annotated[int, Field(strict=True, ge=1, le=1000)] = 10
    batch_size: Annotated[int, Field(strict=True, ge=1, le=65536)] = 128
    lr: Annotated[float, Field(gt=0.0, le=1.0)] = 1e-3
    schedule: Literal["constant", "onecycle"] = "constant"
    warmup_fraction: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.2
    label_smoothing: Annotated[float, Field(ge=0.0, lt=0.5)] = 0.0
    ema: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.0  # weight moving-average momentum; 0 = off
    early_stopping_patience: NonNegInt = 0  # 0 disables early stopping
    threads: NonNegInt = 0  # TensorFlow intra-op threads; 0 lets TensorFlow use every core
    # bfloat16 compute with float32 weights: ~2x faster convs on CPUs with AMX/AVX512-BF16.
    precision: Literal["float32", "mixed_bfloat16"] = "float32"
    mlp: MLPParams = MLPParams()
    cnn: CNNParams = CNNParams()
    augment: AugmentParams = AugmentParams()


class CheckParams(_Section):
    """The "one digit?" check that `digits read` weighs its cuts with (digits.pipeline.check)."""

    # digits, and as many images that are not one digit, it is fitted on; 0 = no check: the
    # exported model gives the ten digit probabilities only
    samples: Annotated[int, Field(strict=True, ge=0, le=1_000_000)] = 0
    epochs: Annotated[int, Field(strict=True, ge=1, le=100)] = 10
    seed: int = Field(default=SEED, strict=True)
    # processes that make its images; 0 = one per core (at most 4); the same images for any number
    workers: Annotated[int, Field(strict=True, ge=0, le=64)] = 0
    # the piece reader (digits.pipeline.reader), fitted beside the check on this many examples
    # (one digit or two touching); 0 = none. It needs the check (samples > 0).
    reader_samples: Annotated[int, Field(strict=True, ge=0, le=1_000_000)] = 0
    reader_epochs: Annotated[int, Field(strict=True, ge=1, le=100)] = 5

    @model_validator(mode="after")
    def _reader_needs_the_check(self) -> CheckParams:
        if self.reader_samples and not self.samples:
            raise ValueError("reader_samples > 0 needs the check too (samples > 0): its columns follow the check's")
        return self


class EvaluateParams(_Section):
    batch_size: Annotated[int, Field(strict=True, ge=1, le=65536)] = 1024
    tflite_max_accuracy_gap: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0


class PlotsParams(_Section):
    grid_rows: Annotated[int, Field(strict=True, ge=1, le=20)] = 6
    grid_cols: Annotated[int, Field(strict=True, ge=1, le=20)] = 10
    worst: Annotated[int, Field(strict=True, ge=1, le=100)] = 24
    samples_per_class: Annotated[int, Field(strict=True, ge=1, le=20)] = 8
    dpi: Annotated[int, Field(strict=True, ge=50, le=400)] = 110


class WildParams(_Section):
    """The wild benchmark: how many digits per capture condition, and its seed."""

    per_condition: Annotated[int, Field(strict=True, ge=10, le=5000)] = 200
    blanks: Annotated[int, Field(strict=True, ge=0, le=5000)] = 100  # pages with no digit
    seed: int = Field(default=SEED, strict=True)
    workers: Annotated[int, Field(strict=True, ge=0, le=64)] = 0  # 0 = one per core (at most 4)
    uci: bool = Field(default=True, strict=True)  # also read scikit-learn's 1,797 UCI 8x8 digits


class NumbersParams(_Section):
    """The numbers benchmark: how many synthetic numbers, the share with touching digits, its seed."""

    count: Annotated[int, Field(strict=True, ge=10, le=100_000)] = 400
    touching: Annotated[float, Field(ge=0.0, le=1.0)] = 0.3  # numbers with a pair pushed to touch
    blanks: Annotated[int, Field(strict=True, ge=0, le=5000)] = 100  # pages with no number
    seed: int = Field(default=SEED, strict=True)
    workers: Annotated[int, Field(strict=True, ge=0, le=64)] = 0  # 0 = one per core (at most 4)


SECTIONS: dict[str, type[_Section]] = {
    "fetch": FetchParams,
    "preprocess": PreprocessParams,
    "train": TrainParams,
    "check": CheckParams,
    "evaluate": EvaluateParams,
    "plots": PlotsParams,
    "wild": WildParams,
    "numbers": NumbersParams,
}

S = TypeVar("S", bound=_Section)


def _describe(exc: ValidationError, section: str) -> str:
    parts = []
    for err in exc.errors():
        key = ".".join([section, *(str(p) for p in err["loc"])])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (misspelt?)"
        elif err["type"] != "missing":
            msg = f"{msg} (got {err.get('input')!r})"
        parts.append(f"{key}: {msg}")
    return "; ".join(parts)


def parse_section(section: str, raw: object) -> _Section:
    """Validate one section's raw mapping into its typed model."""
    if section not in SECTIONS:
        raise DigitsError(f"unknown params section {section!r}; expected one of {sorted(SECTIONS)}")
    if not isinstance(raw, dict):
        raise DigitsError(f"{PARAMS_FILE}: section {section!r} must be a mapping, got {type(raw).__name__}")
    try:
        return SECTIONS[section].model_validate(raw)
    except ValidationError as exc:
        raise DigitsError(f"invalid params: {_describe(exc, section)}") from None


def load_section(section: str, path: str | os.PathLike = PARAMS_FILE) -> _Section:
    """Read `path` and return its validated `section`."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DigitsError(f"{path}: not found (run from the project root)") from None
    except yaml.YAMLError as exc:
        raise DigitsError(f"{path}: not valid YAML ({one_line_yaml(exc)})") from None
    if not isinstance(doc, dict) or section not in doc:
        raise DigitsError(f"{path}: missing section {section!r}")
    return parse_section(section, doc[section])


def one_line_yaml(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}" if mark is not None else "unknown line"
    return f"{getattr(exc, 'problem', None) or exc} at {where}"
