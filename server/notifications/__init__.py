"""In-app notifications for staff (deadline reminders, late results): the bell and its list."""
