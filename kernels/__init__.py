"""Attention kernels: FlashAttention-2-style Triton kernels (``kernels.attention``) and the plain-torch
reference they are tested against (``kernels.reference``)."""
