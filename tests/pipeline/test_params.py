import pytest

from conftest import ROOT
from digits.errors import DigitsError
from digits.pipeline.params import SECTIONS, load_section, parse_section


def test_project_params_are_valid():
    for section in SECTIONS:
        load_section(section, ROOT / "params.yaml")


@pytest.mark.parametrize("section, raw, fragment", [
    ("train", {"epoch": 3}, "train.epoch: unknown key"),
    ("train", {"cnn": {"filtres": [8]}}, "train.cnn.filtres: unknown key"),
    ("train", {"epochs": 0}, "train.epochs: Input should be greater than or equal to 1"),
    ("train", {"epochs": 2.5}, "train.epochs: Input should be a valid integer"),
    ("train", {"epochs": "ten"}, "train.epochs"),
    ("train", {"model": "rnn"}, "train.model: Input should be 'mlp', 'cnn' or 'keras_io'"),
    ("train", {"lr": -1}, "train.lr: Input should be greater than 0"),
    ("check", {"samples": -1}, "check.samples: Input should be greater than or equal to 0"),
    ("check", {"samples": 0, "reader_samples": 100}, "reader_samples > 0 needs the check too"),
    ("check", {"reader_epochs": 0}, "check.reader_epochs"),
    ("train", {"precision": "fp8"}, "train.precision"),
    ("train", {"cnn": {"batchnorm": "yes"}}, "train.cnn.batchnorm"),
    ("train", {"augment": {"styles": 1.5}}, "train.augment.styles: Input should be less than or equal to 1"),
    ("preprocess", {"val_fraction": 0.9}, "preprocess.val_fraction: Input should be less than 0.5"),
    ("preprocess", {"train_limit": -5}, "preprocess.train_limit"),
    ("fetch", {"mirrors": []}, "fetch.mirrors"),
    ("fetch", {"mirrors": ["ftp://x/"]}, "fetch.mirrors: Value error, mirror 'ftp://x/'"),
    ("evaluate", {"batch_size": 0}, "evaluate.batch_size"),
    ("plots", {"dpi": 5}, "plots.dpi"),
])
def test_bad_params_name_the_key(section, raw, fragment):
    with pytest.raises(DigitsError) as exc:
        parse_section(section, raw)
    msg = str(exc.value)
    assert fragment in msg
    assert "\n" not in msg


def test_section_must_be_mapping_and_present(tmp_path):
    with pytest.raises(DigitsError, match="must be a mapping"):
        parse_section("train", [1, 2])
    f = tmp_path / "params.yaml"
    f.write_text("fetch: {mirrors: ['https://a/']}\n")
    with pytest.raises(DigitsError, match="missing section 'train'"):
        load_section("train", f)
    f.write_text("train: [unclosed\n")
    with pytest.raises(DigitsError, match="not valid YAML"):
        load_section("train", f)


def test_mirrors_get_trailing_slash():
    p = parse_section("fetch", {"mirrors": ["https://example.org/mnist"]})
    assert p.mirrors == ["https://example.org/mnist/"]
