"""One seed-CNN conv layer (32->64, 14x14, batch 128) forward + both gradients, for ``ncu`` to profile.

    ncu --kernel-name regex:conv_gemm --section SpeedOfLight --section Occupancy \\
        python3 bench/profile_conv.py
"""
import os

import numpy as np

os.environ.setdefault("DUALFLOW_DEVICE", "cuda")

import core  # noqa: E402  (after choosing the device)


def main() -> None:
    rng = np.random.default_rng(0)
    x = core.value(rng.normal(size=(128, 32, 14, 14)).astype(np.float32), requires_grad=True)
    w = core.value(rng.normal(size=(64, 32, 3, 3)).astype(np.float32), requires_grad=True)
    g = core.value(np.ones((128, 64, 14, 14), np.float32))
    for _ in range(2):      # the first pass compiles and warms up; ncu sees both
        y = core.conv2d(x, w, 1, 1)
        core.gradients([y], [x, w], [g])
    import backends
    backends.get_backend(y.device).synchronize()


if __name__ == "__main__":
    main()
