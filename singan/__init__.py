"""SinGAN: a generative model learned from a single natural image."""

__version__ = "0.10.0"
