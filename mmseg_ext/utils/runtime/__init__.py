"""The machine and the stack: torch support, devices, launchers."""
