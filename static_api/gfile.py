"""``tf.gfile`` (TF1) on the local file system; missing paths raise ``tf.errors.NotFoundError`` as in TF."""
from __future__ import annotations

import glob as _glob
import os
import shutil
from typing import IO, Any, Iterator

from static_api.errors import AlreadyExistsError, NotFoundError


def _must_exist(path: Any, what: str) -> str:
    path = os.fspath(path)
    if not os.path.exists(path):
        raise NotFoundError(None, None, f"{what}: {path}; No such file or directory")
    return path


def GFile(name: Any, mode: str = "r") -> IO:
    """A file object (``read``/``write``/``readline``/iteration, a context manager)."""
    if "r" in mode:
        _must_exist(name, "GFile")
    return open(os.fspath(name), mode)


Open = FastGFile = GFile


def Exists(filename: Any) -> bool:
    return os.path.exists(os.fspath(filename))


def IsDirectory(dirname: Any) -> bool:
    return os.path.isdir(os.fspath(dirname))


def MakeDirs(dirname: Any) -> None:
    os.makedirs(os.fspath(dirname), exist_ok=True)


def MkDir(dirname: Any) -> None:
    if os.path.exists(os.fspath(dirname)):
        raise AlreadyExistsError(None, None, f"MkDir: {os.fspath(dirname)} already exists")
    os.mkdir(os.fspath(dirname))


def ListDirectory(dirname: Any) -> list:
    return os.listdir(_must_exist(dirname, "ListDirectory"))


def Glob(filename: Any) -> list:
    return _glob.glob(os.fspath(filename))


def Remove(filename: Any) -> None:
    os.remove(_must_exist(filename, "Remove"))


def DeleteRecursively(dirname: Any) -> None:
    path = _must_exist(dirname, "DeleteRecursively")
    shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


def Copy(oldpath: Any, newpath: Any, overwrite: bool = False) -> None:
    src = _must_exist(oldpath, "Copy")
    if not overwrite and os.path.exists(os.fspath(newpath)):
        raise AlreadyExistsError(None, None, f"Copy: {os.fspath(newpath)} already exists")
    shutil.copyfile(src, os.fspath(newpath))


def Rename(oldname: Any, newname: Any, overwrite: bool = False) -> None:
    src = _must_exist(oldname, "Rename")
    if not overwrite and os.path.exists(os.fspath(newname)):
        raise AlreadyExistsError(None, None, f"Rename: {os.fspath(newname)} already exists")
    os.replace(src, os.fspath(newname))


def Walk(top: Any, in_order: bool = True) -> Iterator:
    return os.walk(os.fspath(top), topdown=in_order)
