"""Working days, result deadlines (视为未完成), reminders, task windows and year-end tracking."""
