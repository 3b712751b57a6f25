run tests/regress/cache-flush-empty-way.trace
