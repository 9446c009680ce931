"""Evidence files: photos and signature images stored once under their SHA-256, with renditions."""
