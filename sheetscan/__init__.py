"""sheetscan: scanned petition sheets in, validated signer records out."""

__version__ = "0.1.0"
