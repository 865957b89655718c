"""The run lifecycle, the batching writer and the fluent API. No IPython, no Jupyter."""
