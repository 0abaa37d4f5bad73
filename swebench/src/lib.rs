//! SWE-bench (issue #5): datasets, inference runs and the evaluation harness. Not implemented yet.
