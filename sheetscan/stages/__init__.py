"""Pipeline stages, in order: load, orient, register, cells, ink, recognize. Composed in sheetscan.pipeline."""
