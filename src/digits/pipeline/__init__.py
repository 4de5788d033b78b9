"""What the DVC stages run: MNIST files, params, models, training, export, evaluation, plots,
and the benchmarks' generators."""
