"""``torch.backends``: the flags training scripts set.  dualflow runs its own conv and pooling kernels (no cuDNN;
no TF32 in its GEMMs) and they are deterministic, so the flags are kept but change nothing.  A package, so
``import torch.backends.cudnn as cudnn`` works as in PyTorch."""
from eager_api.backends import cudnn


class cuda:
    class matmul:
        allow_tf32 = False


class mps:
    @staticmethod
    def is_available() -> bool:
        return False


__all__ = ["cudnn", "cuda", "mps"]
