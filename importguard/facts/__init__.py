"""Facts: the only reader of Python source. One file in, plain frozen facts out."""
