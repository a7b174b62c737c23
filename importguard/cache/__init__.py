"""Facts cache, the worker pool that collects cache misses, and the replay of an unchanged run."""
