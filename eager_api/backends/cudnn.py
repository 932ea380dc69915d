"""``torch.backends.cudnn``: kept for scripts that set it; dualflow has no cuDNN (see the package note)."""
enabled = True
benchmark = False
deterministic = False
allow_tf32 = False


def is_available() -> bool:
    return False


def version() -> None:
    return None
