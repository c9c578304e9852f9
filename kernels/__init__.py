"""Attention kernels: FlashAttention-2-style Triton kernels (``kernels.attention``) and the plain-torch
reference they are tested against (``kernels.reference``)."""

from icl_testbed import require_own_packages

require_own_packages()  # before importing a package of ours, which may be a namesake's
