"""Commands around a run: evaluate, n-gram baselines, plots, export, info."""
