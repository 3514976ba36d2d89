"""Reading and writing files: X-ray images, atomic writes, file scans, safe checkpoints."""
