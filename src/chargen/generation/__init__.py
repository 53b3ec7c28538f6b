"""Text out of a trained model: strategies, the sampler, seeds and output."""
