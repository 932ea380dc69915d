"""Every CUDA source compiles with nvcc (no GPU needed), so a syntax error is caught in CPU CI."""
import glob
import os
import shutil
import subprocess

import pytest

SOURCES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "backends", "cuda", "*.cu")))


def test_there_are_cuda_sources():
    assert {os.path.basename(s) for s in SOURCES} >= {"conv.cu", "pool.cu"}


@pytest.mark.parametrize("src", SOURCES, ids=os.path.basename)
def test_nvcc_compiles(src, tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not on the PATH")
    out = subprocess.run([nvcc, "-arch=sm_90", "--ptx", "-std=c++17", "-DDUALFLOW_INSTANTIATE", src,
                          "-o", str(tmp_path / "out.ptx")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert ".entry" in (tmp_path / "out.ptx").read_text()
