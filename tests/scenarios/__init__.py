"""Generated program scenarios with known answers (see :mod:`tests.scenarios.generator`)."""
