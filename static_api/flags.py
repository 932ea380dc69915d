"""``tf.app.flags`` / ``tf.flags``: absl-style command-line flags, as TF1 programs define and read them.

    >>> from static_api import flags
    >>> fv = flags.FlagValues()
    >>> flags.DEFINE_integer("steps", 10, "training steps", flag_values=fv)
    >>> fv(["prog", "--steps=5", "extra"])
    ['prog', 'extra']
    >>> fv.steps
    5
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Sequence


class Error(Exception):
    """Base of the flag errors (absl.flags.Error)."""


class DuplicateFlagError(Error):
    pass


class UnrecognizedFlagError(Error):
    pass


class IllegalFlagValueError(Error):
    pass


class UnparsedFlagAccessError(Error):
    pass


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("true", "t", "1"):
        return True
    if low in ("false", "f", "0"):
        return False
    raise ValueError("Non-boolean argument to boolean flag")


class _Flag:
    def __init__(self, name: str, default: Any, help: str, parse: Callable[[str], Any], is_bool: bool = False) -> None:
        self.name, self.help, self.parse, self.is_bool = name, help, parse, is_bool
        self.default = self._convert(default)      # absl parses string defaults like command-line values
        self.value = self.default

    def _convert(self, text: Any) -> Any:
        if not isinstance(text, str):
            return text
        try:
            return self.parse(text)
        except ValueError as e:
            raise IllegalFlagValueError(f"flag --{self.name}={text}: {e}") from None


class FlagValues:
    """The flag registry: attributes read the parsed values; calling it with argv parses and returns the
    arguments that are not flags (``argv[0]`` first)."""

    def __init__(self) -> None:
        object.__setattr__(self, "_flags", {})
        object.__setattr__(self, "_parsed", False)

    def _define(self, flag: _Flag) -> None:
        if flag.name in self._flags:
            raise DuplicateFlagError(f"The flag '{flag.name}' is defined twice.")
        self._flags[flag.name] = flag

    def is_parsed(self) -> bool:
        return self._parsed

    def mark_as_parsed(self) -> None:
        object.__setattr__(self, "_parsed", True)

    def __contains__(self, name: str) -> bool:
        return name in self._flags

    def __getattr__(self, name: str) -> Any:
        flags = self.__dict__["_flags"]
        if name not in flags:
            raise AttributeError(name)
        if not self._parsed:
            # TF's wrapper parses sys.argv on first access, so scripts that never call tf.app.run still work.
            self(sys.argv)
        return flags[name].value

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._flags:
            raise AttributeError(f"Unknown flag {name!r}; define it with DEFINE_* first")
        self._flags[name].value = self._flags[name]._convert(value)

    def flag_values_dict(self) -> dict:
        return {name: f.value for name, f in self._flags.items()}

    def __call__(self, argv: Sequence[str], known_only: bool = False) -> list:
        """Parse ``--name=value``, ``--name value``, ``-name=value``, ``--bool``/``--nobool``; ``--`` ends the
        flags.  Unknown flags are an UnrecognizedFlagError, or kept in the result when ``known_only``."""
        argv = list(argv)
        rest, i = argv[:1], 1
        while i < len(argv):
            arg = argv[i]
            i += 1
            if arg == "--":
                rest += argv[i - 1:] if known_only else argv[i:]
                break
            if not arg.startswith("-") or arg == "-":
                rest.append(arg)
                continue
            body = arg.lstrip("-")
            name, eq, value = body.partition("=")
            flag = self._flags.get(name)
            if flag is None and not eq and name.startswith("no") and name[2:] in self._flags \
                    and self._flags[name[2:]].is_bool:
                self._flags[name[2:]].value = False
                continue
            if flag is None:
                if known_only:
                    rest.append(arg)
                    continue
                raise UnrecognizedFlagError(f"Unknown command line flag '{name}'")
            if not eq:
                if flag.is_bool:
                    flag.value = True
                    continue
                if i >= len(argv):
                    raise IllegalFlagValueError(f"Flag --{name} needs a value")
                value, i = argv[i], i + 1
            flag.value = flag._convert(value)
        self.mark_as_parsed()
        return rest


FLAGS = FlagValues()


def _list(text: str) -> list:
    return [s.strip() for s in text.split(",") if s.strip()]


def DEFINE_string(name: str, default: str | None, help: str, flag_values: FlagValues = FLAGS, **_: Any) -> None:
    flag_values._define(_Flag(name, default, help, str))


def DEFINE_integer(name: str, default: int | None, help: str, flag_values: FlagValues = FLAGS, **_: Any) -> None:
    flag_values._define(_Flag(name, default, help, int))


def DEFINE_float(name: str, default: float | None, help: str, flag_values: FlagValues = FLAGS, **_: Any) -> None:
    flag_values._define(_Flag(name, default, help, float))


def DEFINE_boolean(name: str, default: bool | None, help: str, flag_values: FlagValues = FLAGS, **_: Any) -> None:
    flag_values._define(_Flag(name, default, help, _parse_bool, is_bool=True))


def DEFINE_list(name: str, default: Any, help: str, flag_values: FlagValues = FLAGS, **_: Any) -> None:
    flag_values._define(_Flag(name, default, help, _list))


def DEFINE_enum(name: str, default: str | None, enum_values: Sequence[str], help: str,
                flag_values: FlagValues = FLAGS, **_: Any) -> None:
    def parse(text: str) -> str:
        if text not in enum_values:
            raise ValueError(f"value should be one of <{'|'.join(enum_values)}>")
        return text
    flag_values._define(_Flag(name, default, help, parse))


DEFINE_bool = DEFINE_boolean
