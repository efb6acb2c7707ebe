"""Benchmarks run by `make bench` (`python -m bench [names...]`); figures land in bench/results.json."""

# The Intercom simulator stands in for a service that runs elsewhere: in a benchmark it checks the first call of
# each operation against the contract and every Nth after, so that it does not take the cores the code under
# test is measured on (the test suite checks every call).
SIMULATOR_VALIDATE_EVERY = 20
