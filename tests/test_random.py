"""The counter-based generator (Philox4x32-10) behind dropout: published answers, the float conversion, the
offset a draw consumes, the compiled kernel against the vectorized one, and replay in both frontends."""

import numpy as np
import pytest

import core
import eager_api as torch
import static_api as tf
from backends import get_backend, philox
from core.state import State
from tests.helpers import seeded_dropout_pattern

U64 = np.uint64


def _words(c, k):
    out = philox.block(*[np.array([v], dtype=U64) for v in c], *[U64(v) for v in k])
    return [int(w[0]) for w in out]


# Known-answer vectors of Random123 (kat_vectors, philox4x32 with 10 rounds): counter, key -> output.
KAT = [
    ([0, 0, 0, 0], [0, 0], [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]),
    ([0xffffffff] * 4, [0xffffffff] * 2, [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]),
    ([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0],
     [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]),
]


@pytest.mark.parametrize("ctr,key,want", KAT)
def test_philox_block_gives_random123s_known_answers(ctr, key, want):
    assert _words(ctr, key) == want


def _expected(seed, offset, n, dtype):
    """The first n values of the stream at (seed, offset), from block words one counter at a time."""
    vals = []
    c = offset
    while len(vals) < n:
        w = _words([c % 2 ** 32, c >> 32, 0, 0], [seed % 2 ** 32, seed >> 32])
        if np.dtype(dtype) == np.float64:
            vals += [((w[0] >> 5) * 2 ** 26 + (w[1] >> 6)) / 2 ** 53, ((w[2] >> 5) * 2 ** 26 + (w[3] >> 6)) / 2 ** 53]
        elif np.dtype(dtype) == np.float16:
            vals += [(x >> 21) / 2 ** 11 for x in w]
        else:
            vals += [(x >> 8) / 2 ** 24 for x in w]
        c += 1
    return np.array(vals[:n], dtype=dtype)       # exact: each value is a multiple the dtype holds


@pytest.mark.parametrize("numba", ["1", "0"], ids=["compiled", "vectorized"])
@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 3, 4, 5, 9])
def test_uniform_values_and_the_offset_each_draw_consumes(monkeypatch, numba, dtype, n):
    monkeypatch.setenv("DUALFLOW_NUMBA", numba)
    be = get_backend("cpu")
    # A seed with both halves set and an offset about to carry into the counter's second word.
    seed, offset = 0x0123456789abcdef, 2 ** 32 - 1
    state = np.array([seed, offset], dtype=U64)
    u = be.random_uniform((n,), dtype, state)
    assert u.dtype == dtype and u.shape == (n,)
    np.testing.assert_array_equal(u, _expected(seed, offset, n, dtype))
    per = 2 if dtype == np.float64 else 4
    assert int(state[0]) == seed and int(state[1]) == offset + -(-n // per)   # whole blocks
    # The next draw starts at the next whole block, and a multi-dimensional one fills in C order.
    v = be.random_uniform((2, 3), dtype, state)
    np.testing.assert_array_equal(v.ravel(), _expected(seed, offset + -(-n // per), 6, dtype))


def test_compiled_kernel_matches_the_vectorized_rounds_bit_for_bit(monkeypatch):
    be = get_backend("cpu")
    for dtype in (np.float32, np.float64):
        for n in (1001, 4096):
            a, b = np.array([2 ** 64 - 5, 2 ** 40 + 3], dtype=U64), np.array([2 ** 64 - 5, 2 ** 40 + 3], dtype=U64)
            got = be.random_uniform((n,), dtype, a)
            monkeypatch.setenv("DUALFLOW_NUMBA", "0")
            want = be.random_uniform((n,), dtype, b)
            monkeypatch.delenv("DUALFLOW_NUMBA")
            assert got.tobytes() == want.tobytes() and (a == b).all()


def test_uniform_is_uniform():
    """A chi-square test over 20 bins of 200,000 draws (the 1e-6 tail of chi2 with 19 degrees: 61.7), and
    no value outside [0, 1)."""
    u = get_backend("cpu").random_uniform((200_000,), np.float32, philox.new_state(np, 12345))
    assert 0.0 <= u.min() and u.max() < 1.0
    counts = np.bincount((u * 20).astype(int), minlength=20)
    chi2 = ((counts - 10_000) ** 2 / 10_000).sum()
    assert chi2 < 61.7


def test_a_bad_state_array_is_refused():
    be = get_backend("cpu")
    with pytest.raises(TypeError, match="random_uniform: argument 'state' expected a uint64 array"):
        be.random_uniform((3,), np.float32, np.array([1, 2], dtype=np.int64))
    with pytest.raises(TypeError, match=r"of shape \(2,\), got uint64 of shape \(3,\)"):
        be.random_uniform((3,), np.float32, np.zeros(3, dtype=U64))


def test_seeds_wrap_modulo_two_to_the_64():
    assert philox.new_state(np, -1).tolist() == [2 ** 64 - 1, 0]


# ----- dropout in both frontends ------------------------------------------------------------------------------
def test_eager_dropout_replays_after_manual_seed_and_from_a_saved_state():
    x = torch.ones(64, 64)
    torch.manual_seed(7)
    a = torch.nn.functional.dropout(x, 0.3).numpy()
    b = torch.nn.functional.dropout(x, 0.3).numpy()
    assert not np.array_equal(a, b)                     # the stream moved on
    saved = core.random.default_generator.philox_state("cpu").copy()
    c = torch.nn.functional.dropout(x, 0.3).numpy()
    core.random.default_generator.philox_state("cpu")[...] = saved
    np.testing.assert_array_equal(torch.nn.functional.dropout(x, 0.3).numpy(), c)
    torch.manual_seed(7)
    np.testing.assert_array_equal(torch.nn.functional.dropout(x, 0.3).numpy(), a)
    # The mask is the stream's: kept where the uniform draw is >= p, scaled by 1/(1-p).
    u = _expected(7, 0, 64 * 64, np.float32).reshape(64, 64)
    np.testing.assert_array_equal(a, np.where(u >= np.float32(0.3), np.float32(1 / 0.7), np.float32(0.0)))


def test_static_dropout_restarts_in_each_session_as_in_tf1():
    """TF1 keeps a stateful random op's state in the session: one Session draws anew each run, a new Session
    on the same seeded graph starts the stream again (checked against TF in test_reference_tf)."""
    assert seeded_dropout_pattern(tf, tf.Graph()) == (False, True)


def test_each_state_keeps_its_own_stream_per_generator():
    gen = core.Generator(11)
    s1, s2 = State(), State()
    a = s1.philox(gen, "cpu")
    assert a is s1.philox(gen, "cpu") and a.tolist() == [11, 0]
    get_backend("cpu").random_uniform((5,), np.float32, a)
    assert s1.philox(gen, "cpu").tolist() == [11, 2] and s2.philox(gen, "cpu").tolist() == [11, 0]
    s1.clear()
    assert s1.philox(gen, "cpu").tolist() == [11, 0]


def test_unseeded_generators_start_from_fresh_entropy():
    a, b = core.Generator().new_philox_state("cpu"), core.Generator().new_philox_state("cpu")
    assert a[0] != b[0] and a[1] == b[1] == 0


@pytest.mark.gpu
def test_cupy_draws_the_same_bits_as_numpy(gpu):
    """Nothing read back to the host: the state stays on the device and advances there."""
    be = get_backend(str(gpu))
    for dtype in (np.float32, np.float64):
        st = philox.new_state(be.xp, 2 ** 63 + 9)
        host = philox.new_state(np, 2 ** 63 + 9)
        for n in (5, 1000):
            got = be.to_host(be.random_uniform((n,), dtype, st))
            want = get_backend("cpu").random_uniform((n,), dtype, host)
            assert got.tobytes() == want.tobytes()
        assert be.to_host(st).tolist() == host.tolist()
