"""Benchmarks run by `make bench` (`python -m bench [names...]`); figures land in bench/results.json."""
