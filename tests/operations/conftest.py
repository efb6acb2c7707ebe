from tests.operations.sup import sup_fixture  # noqa: F401 (the `sup` fixture, for every test here)
