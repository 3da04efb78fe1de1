"""Tensor operations, one module per family. Each op is written once over the array module."""
