"""File formats, each with its writer and reader in one module."""
