"""Progress of a long loop: a tqdm bar on a terminal; elsewhere (a log file, CI) one line every few seconds
instead of a flood.  The ``dualflow`` CLI, Keras ``fit(verbose=1)`` and the examples all report through it.

    >>> import io
    >>> out = io.StringIO()
    >>> bar = Progress("train", 3, file=out, every_s=3600)
    >>> for i in range(1, 4):
    ...     bar.update(i, loss=1.0 / i)
    >>> bar.close()
    >>> out.getvalue()      # not a terminal, and not an hour yet: only the last step
    'train: step 3/3, loss 0.3333\\n'
"""
from __future__ import annotations

import sys
import time
from typing import IO


EVERY_S = 5.0       # seconds between lines when the output is not a terminal


class Progress:
    """Report ``update(done, loss, img_s)`` calls of a loop of ``total`` steps to ``file`` (default stderr)."""

    def __init__(self, name: str, total: int, enabled: bool = True, every_s: float | None = None,
                 file: IO[str] | None = None, unit: str = "step", last_line: bool = True) -> None:
        self.name, self.total, self.unit, self.last_line = name, total, unit, last_line
        self.every_s = EVERY_S if every_s is None else every_s
        self.file = sys.stderr if file is None else file
        self.bar = self.last = None
        if enabled and getattr(self.file, "isatty", lambda: False)():
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=f"{name:>10}", unit=unit, leave=True, file=self.file)
        elif enabled:
            self.last = time.perf_counter()

    def update(self, done: int, loss: float | None = None, img_s: float | None = None) -> None:
        """``done`` of ``total`` steps are finished; ``loss`` and ``img_s`` (images per second) are shown."""
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            shown = {k: v for k, v in (("loss", None if loss is None else f"{loss:.4f}"),
                                       ("img_s", None if img_s is None else f"{img_s:.0f}")) if v is not None}
            if shown:
                self.bar.set_postfix(shown)
        elif self.last is not None and (time.perf_counter() - self.last >= self.every_s
                                        or (self.last_line and done == self.total)):
            self.last = time.perf_counter()
            parts = [f"{self.unit} {done}/{self.total}"] + ([] if loss is None else [f"loss {loss:.4f}"]) + (
                [] if img_s is None else [f"{img_s:.0f} images/s"])
            print(f"{self.name}: {', '.join(parts)}", file=self.file, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
