"""Shared neural-network layers of the multi-image GANs (PGGAN, StyleGAN, StyleGAN2)."""
