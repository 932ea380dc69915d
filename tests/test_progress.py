"""Progress reporting (core.progress): a bar on a terminal, a line every few seconds elsewhere; used by the CLI,
Keras ``fit(verbose=1)`` and the examples."""
import io

import numpy as np

import static_api as tf
from core import progress


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_lines_are_throttled_when_not_a_terminal(monkeypatch):
    out = io.StringIO()
    bar = progress.Progress("eager", 4, file=out, every_s=3600)
    for i in range(1, 5):
        bar.update(i, 0.5, 100.0)
    assert out.getvalue() == "eager: step 4/4, loss 0.5000, 100 images/s\n"      # only the last one
    monkeypatch.setattr(progress, "EVERY_S", 0.0)
    out = io.StringIO()
    bar = progress.Progress("Epoch 1/1", 3, file=out, unit="batch", last_line=False)
    for i in range(1, 4):
        bar.update(i, loss=1.0)
    assert out.getvalue().splitlines() == [f"Epoch 1/1: batch {i}/3, loss 1.0000" for i in range(1, 4)]
    silent = io.StringIO()
    progress.Progress("x", 2, enabled=False, file=silent).update(2, 1.0)
    assert silent.getvalue() == ""


def test_a_terminal_gets_a_bar():
    out = _Terminal()
    bar = progress.Progress("static", 5, file=out)
    for i in range(1, 6):
        bar.update(i, 0.25)
    bar.close()
    assert "5/5" in out.getvalue() and "loss=0.2500" in out.getvalue() and "\n" in out.getvalue()


def test_keras_fit_reports_within_the_epoch(monkeypatch, capsys):
    monkeypatch.setattr(progress, "EVERY_S", 0.0)
    tf.reset_default_graph()
    inp = tf.keras.Input((2,))
    model = tf.keras.Model(inp, tf.keras.layers.Dense(1)(inp))
    model.compile("sgd", "mse")
    model.fit(np.ones((6, 2)), np.ones((6, 1)), batch_size=2, epochs=1, verbose=1)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines[:3]] == [f"Epoch 1/1: batch {i}/3" for i in (1, 2, 3)]
    assert lines[3:5][0] == "Epoch 1/1" and lines[4].startswith("3/3 - ")          # then the epoch's summary
    model.fit(np.ones((6, 2)), np.ones((6, 1)), batch_size=2, epochs=1, verbose=2)
    assert "batch" not in capsys.readouterr().out                                  # verbose=2: one line an epoch
