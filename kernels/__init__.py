"""Attention kernels: the plain-torch reference (``kernels.reference``); Triton kernels come with issue 7."""
