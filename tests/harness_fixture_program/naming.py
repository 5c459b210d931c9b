"""Naming rule shared by the harness fixture program."""


def item_key(prefix: str, suffix: str) -> str:
    """Return the store key for one item of the program."""
    return f"{prefix}-{suffix}"
