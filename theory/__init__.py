"""Theory: closed-form risk curves and bounds, and the plots that set them against experiments."""
