"""Reproducible MNIST pipeline and a predictor for real handwritten digits."""

__version__ = "0.1.0"

SEED = 1999
NUM_CLASSES = 10
IMAGE_SIZE = 28
