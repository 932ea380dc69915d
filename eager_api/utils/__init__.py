from eager_api.utils import data

__all__ = ["data"]
