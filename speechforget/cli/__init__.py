"""Sub-commands of python -m speechforget (one module each)."""
