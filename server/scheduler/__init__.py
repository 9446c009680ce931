"""Running the jobs of ``server/jobs.py``: one scheduler across all processes, each run recorded."""
