"""Pixels to answer without TensorFlow: decoding, normalisation, prediction, the LiteRT runtime."""
