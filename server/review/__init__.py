"""Supervisor review of submitted inspections: approve, or return with comments per checkpoint."""
