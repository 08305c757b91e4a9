// Keeps pg_examples_common non-empty before examples/common has sources.
