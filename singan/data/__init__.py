"""Training data of the multi-image families: image folders held in memory, and the order they are shown in."""
