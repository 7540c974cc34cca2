"""Outside signers on the command line (issue 24): ``phasegate invite``."""
