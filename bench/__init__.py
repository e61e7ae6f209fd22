"""Load benchmarks of the storefront GraphQL API (`make bench`, see docs/benchmarks.md)."""
