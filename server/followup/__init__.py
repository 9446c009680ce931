"""Follow-up (后续处置) of problems found: each tracked to closure with its evidence."""
