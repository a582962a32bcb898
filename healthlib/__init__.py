"""healthlib: the editorial side of a consumer health library, with medical review built in."""

__version__ = "0.1.0"
