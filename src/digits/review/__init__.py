"""Tools around the pipeline's results: the metrics gate and the offline plots page."""
