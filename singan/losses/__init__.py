"""Losses and regularisers as small pure functions of scores and images, one module per kind."""
