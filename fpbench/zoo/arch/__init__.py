"""Plain PyTorch architectures of the zoo models (no weights, no conversion code)."""
