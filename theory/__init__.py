"""Theory: closed-form curves and bounds, derived in sympy (pure maths: no plotting, no files)."""

from icl_testbed import require_own_packages

require_own_packages()  # before importing a package of ours, which may be a namesake's
