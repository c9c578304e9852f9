"""The window's vocabulary, defined once: log2 W <-> W within [1, W_MAX], and the grids of windows."""

from __future__ import annotations

import numpy as np
import pytest

from sim.collect import SWEEP
from sim.timing import LOG2_W_MAX, W_MAX, to_log2, to_window, window_grid


def test_log2_and_window_are_inverse_within_the_range_and_clip_outside_it() -> None:
    log2_windows = np.array([0.0, 4.0, 7.5, LOG2_W_MAX])
    assert np.allclose(to_log2(to_window(log2_windows)), log2_windows)
    assert to_window(-3.0) == 1.0 and to_window(LOG2_W_MAX + 2) == W_MAX == 2**LOG2_W_MAX
    assert to_log2(0.5) == 0.0 and to_log2(10 * W_MAX) == LOG2_W_MAX


def test_window_grids_step_in_fractions_of_an_octave() -> None:
    assert window_grid(16, 1024) == [16, 23, 32, 45, 64, 91, 128, 181, 256, 362, 512, 724, 1024]
    assert window_grid(8, 4096)[0] == 8 and window_grid(8, 4096)[-1] == 4096 and len(window_grid(8, 4096)) == 19
    assert SWEEP[0] == 8 and SWEEP[-1] == 8192 and len(SWEEP) == 41 and np.all(np.diff(SWEEP) > 0)
    with pytest.raises(ValueError, match="need 1 <= low < high"):
        window_grid(1024, 16)
