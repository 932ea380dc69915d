"""``torch.nn.parallel``: ``DataParallel`` on one device is the wrapped module itself, as PyTorch's is when one
device (or none) is visible: the same outputs, its parameters under ``module.`` in the state dict."""
from __future__ import annotations

from typing import Any, Sequence

from eager_api.nn.modules import Module


class DataParallel(Module):
    def __init__(self, module: Module, device_ids: Sequence[Any] | None = None, output_device: Any = None,
                 dim: int = 0) -> None:
        super().__init__()
        self.module = module
        self.device_ids, self.output_device, self.dim = device_ids, output_device, dim

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        return self.module(*inputs, **kwargs)
