"""Tasks on a trained run: one module per task, each with one entry function."""
