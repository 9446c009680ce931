"""The KPI dashboard: coverage, risk-class use, timeliness, publication, follow-up, problems found."""
