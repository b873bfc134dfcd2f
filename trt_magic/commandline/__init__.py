"""trtexec knowledge: the flag table (flags.py) and argv building / path mapping (command.py)."""
