"""Learning: models, baselines, training, evaluation, and the `icl` command line (see ARCHITECTURE.md)."""

from icl_testbed import require_own_packages

require_own_packages()  # before importing a package of ours, which may be a namesake's
