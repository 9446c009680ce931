"""Inspection results: the result categories (reference data) and each inspection's result."""
