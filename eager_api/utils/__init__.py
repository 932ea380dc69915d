from eager_api.utils import data, hooks

__all__ = ["data", "hooks"]
