"""The ``patternlab`` command line: argument parsing over the public API, nothing more."""
