"""Attention kernels: the plain-torch reference (``kernels.reference``)."""
