"""Configurations: frozen dataclasses that validate their values and round-trip through JSON; one module per
model family (`singan`, `gan`) on the shared base in `settings`."""
