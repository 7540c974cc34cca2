"""mkdocs hooks: fill the reference pages' generated sections (a placeholder until lane D2's)."""
