"""Tasks on a multi-image generator: images per seed, interpolation videos, style mixing, evaluation.

Every task takes the generator module itself, any with the multi-image Generator interface (map,
synthesize, z_dim, num_ws, w_avg, image_channels, resolution; see singan/models)."""
