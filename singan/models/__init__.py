"""Networks: one module per model family."""
