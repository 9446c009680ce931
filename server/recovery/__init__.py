"""Recovery of a phone's exported unsynced data: the field app's last resort, read back in on the server."""
