"""Runtime truth: import modules in fresh interpreters and read the CUDA driver's state."""
