"""The CSMA control wing: policies that set the contention window of a live network, and the
experiments that score them side by side (see ARCHITECTURE.md).

``control.controller`` (the in-context controller, fixed windows, the oracle, the ``Trace`` every policy
returns), ``control.adaptive`` (schemes that need no training: p* tracker, Idle Sense, Kalman N
estimate), ``control.drl`` (CCOD-style DQN and TD3 agents) and ``control.experiments`` (closed-loop
scores, convergence after a change of N, the error sweeps, the worlds). Below it: the learners of
``icl``; above it: the figures.
"""

from icl_testbed import require_own_packages

require_own_packages()  # before importing a package of ours, which may be a namesake's
