run traces/examples/jbd2-commit.trace
