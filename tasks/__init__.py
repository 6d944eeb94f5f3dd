"""Tasks on a trained model, one package per model family: tensors in, tensors out. Reading inputs and
writing results is singan.api's business."""
