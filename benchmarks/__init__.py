"""asv benchmarks of patternlab (``asv run --python=same``); see benchmarks/README.md."""
