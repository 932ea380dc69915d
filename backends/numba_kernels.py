"""Max pooling and its gradient, and ReLU (alone or after a bias add), on the CPU, compiled with numba.

NumPy can only pool tap by tap over strided views, one pass over the output per tap for the max and more for
the winner's index (``backends/numpy_kernels.py``): on the seed CNN's pools that took 4-7 ms where one
compiled pass takes about 1 (``bench/cpu_layers.py``), and the pools were a third of a training step.  The
gradient is a scatter of each output gradient to its winner, which NumPy can only do as a compare and a
multiply per tap.  So float32 and float64 max pooling runs here when numba is installed (a dependency of
dualflow); float16, ``DUALFLOW_NUMBA=0`` and a missing numba keep the NumPy kernels, which are also the
tests' reference.

Semantics are PyTorch's, the NumPy kernels' too: a window starts at its first in-bounds tap, the first maximum
in scan order wins, a NaN beats everything (the last NaN of a window wins); the gradient is each output
gradient added, into zeros, at its winner.  Where windows are disjoint (stride >= kernel) the gradient is
stored, not added: a winner gets ``g`` exactly, -0.0 included (PyTorch's ``0 + g`` gives +0.0 there), which
``core.passes.poolgrad`` needs to mask before the scatter bit for bit; the other taps get +0.0, as in PyTorch
(the NumPy kernels' ``g * 0`` gives -0.0 for a negative ``g``).

ReLU is NumPy's ``maximum(x, 0)``, bit for bit, in one pass where NumPy's NaN-propagating maximum takes
about twice as long (0.76 against 1.12 ms over the seed CNN's first activation at batch 128); after a bias
add (the epilogue of a convolution or a dense layer), one pass instead of two over the array.

PyTorch's SGD step rounds each ``add(x, alpha=a)`` once, a fused multiply-add (ATen's CPU kernels): ``fma``
gives that rounding with LLVM's fma, which NumPy cannot express.

Dropout's uniform draws run ``philox.block`` compiled, a block at a time (6 ms for a million float32 values
against 67 for the vectorized rounds, which pass over memory about 100 times).

Convolutions of one input channel (a first layer) run here where oneDNN 3.2 is slow with them
(``numpy_kernels._thin``): the NHWC weight gradient, and with a 3x3 kernel at stride 1 and "same" padding along W
the forward pass and the NCHW weight gradient, as loops over the output pixels that vectorize (each tap's
window one run of a flat copy of the image).

Kernels are compiled at their first call with each dtype (about half a second for the first in a process,
most of it numba's own start), not cached on disk: numba's cache files are pickles, and files dualflow
reads never execute code.  They release the GIL, so ``split_work`` runs them on several threads over the
batch.
"""
from __future__ import annotations

import functools
import math
import signal
import threading
from types import SimpleNamespace
from typing import Any, Callable

import numpy

from backends import philox
from backends.switches import switched_off

DTYPES = (numpy.dtype(numpy.float32), numpy.dtype(numpy.float64))


@functools.lru_cache(maxsize=1)
def _kernels() -> SimpleNamespace | None:
    """The compiled kernels (numba imported at the first pool: its import takes a few hundred ms), or None
    where numba is not installed."""
    try:
        import numba
        import numba.extending
        from numba.core import event
    except ImportError:
        return None
    event.register("numba:compile", type("Listener", (_InterruptsAfterCompiles, event.Listener), {})())
    jit = numba.njit(nogil=True, boundscheck=False, error_model="numpy")

    @jit
    def pool_planes_2x2(x, corner, y, idx):
        """2x2 windows at stride 2, all in bounds: ``x`` (M, OH, 2, W) row pairs, ``corner`` (OH*OW,) each
        window's top-left offset, ``y`` and ``idx`` (M, OH*OW).  Two passes a plane, each a loop long enough
        to vectorize (a window at a time, the loop is OW long: 2.3x slower): each column pair's winner (the
        bottom if greater or NaN), then each pair of columns', with the four taps' scan order restored: the
        right column comes first only from the top row over a left one from the bottom, and comes later for
        "the last NaN wins" otherwise."""
        m_, oh, w = x.shape[0], x.shape[1], x.shape[3]
        ow2 = 2 * (y.shape[1] // oh)
        col = numpy.empty(oh * ow2, x.dtype)
        row = numpy.empty(oh * ow2, numpy.int32)        # the column winner's row offset: 0 or w
        for m in range(m_):
            for oy in range(oh):
                top, bottom = x[m, oy, 0], x[m, oy, 1]
                for j in range(ow2):
                    a, b = top[j], bottom[j]
                    t = (b > a) | (b != b)
                    col[oy * ow2 + j] = b if t else a
                    row[oy * ow2 + j] = w if t else 0
            ym, im = y[m], idx[m]
            for k in range(y.shape[1]):
                a, b = col[2 * k], col[2 * k + 1]
                ra, rb = row[2 * k], row[2 * k + 1]
                t = (b > a) | ((b != b) & ((a == a) | (rb >= ra))) | ((b == a) & (rb < ra))
                ym[k] = b if t else a
                im[k] = corner[k] + (rb + 1 if t else ra)

    @jit
    def clipped(o, stride, pad, k, n):
        """Output position ``o``'s window along one axis, clipped to the image's ``n``: [lo, hi)."""
        start = o * stride - pad
        return max(start, 0), min(start + k, n)

    @jit
    def pool_planes(x, kh, kw, sh, sw, pt, pl, y, idx):
        """(M, H, W) planes, any window: each window clipped to the image."""
        h, w = x.shape[1], x.shape[2]
        for m in range(x.shape[0]):
            for oy in range(y.shape[1]):
                ylo, yhi = clipped(oy, sh, pt, kh, h)
                for ox in range(y.shape[2]):
                    xlo, xhi = clipped(ox, sw, pl, kw, w)
                    best, win = -numpy.inf, ylo * w + xlo
                    for iy in range(ylo, yhi):
                        for ix in range(xlo, xhi):
                            v = x[m, iy, ix]
                            if v > best or v != v:
                                best, win = v, iy * w + ix
                    y[m, oy, ox] = best
                    idx[m, oy, ox] = win

    @jit
    def pool_nhwc(x, kh, kw, sh, sw, pt, pl, y, idx):
        """(N, H, W, C), any window: the running max and winner over each window's taps, channels innermost
        (a contiguous loop that compiles to vector selects)."""
        h, w, c = x.shape[1], x.shape[2], x.shape[3]
        for n in range(x.shape[0]):
            for oy in range(y.shape[1]):
                ylo, yhi = clipped(oy, sh, pt, kh, h)
                for ox in range(y.shape[2]):
                    xlo, xhi = clipped(ox, sw, pl, kw, w)
                    yo, io = y[n, oy, ox], idx[n, oy, ox]
                    for k in range(c):
                        yo[k] = -numpy.inf
                        io[k] = ylo * w + xlo
                    for iy in range(ylo, yhi):
                        for ix in range(xlo, xhi):
                            xi, tap = x[n, iy, ix], iy * w + ix
                            for k in range(c):
                                v, best = xi[k], yo[k]
                                t = (v > best) | (v != v)
                                yo[k] = v if t else best
                                io[k] = tap if t else io[k]

    @jit
    def pool_nhwc_2x2(x, y, idx):
        """(N, H, W, C), 2x2 windows at stride 2 all in bounds: the four taps' channel rows compared in scan
        order, channels innermost (straight-line code, no window loops: 0.6-0.7x the general kernel's time)."""
        w = x.shape[2]
        for n in range(x.shape[0]):
            for oy in range(y.shape[1]):
                r0, r1 = x[n, 2 * oy], x[n, 2 * oy + 1]
                for ox in range(y.shape[2]):
                    a, b, c, d = r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]
                    yo, io = y[n, oy, ox], idx[n, oy, ox]
                    base = 2 * oy * w + 2 * ox
                    for k in range(yo.size):
                        best, win = a[k], 0
                        v = b[k]
                        t = (v > best) | (v != v)
                        best, win = (v, 1) if t else (best, win)
                        v = c[k]
                        t = (v > best) | (v != v)
                        best, win = (v, w) if t else (best, win)
                        v = d[k]
                        t = (v > best) | (v != v)
                        best, win = (v, w + 1) if t else (best, win)
                        yo[k], io[k] = best, base + win

    @jit
    def scatter_planes(gy, idx, disjoint, dx):
        """(M, OH*OW) gradients into (M, H*W) planes at their winners."""
        dx[...] = 0
        for m in range(gy.shape[0]):
            for o in range(gy.shape[1]):
                if disjoint:
                    dx[m, idx[m, o]] = gy[m, o]
                else:
                    dx[m, idx[m, o]] += gy[m, o]

    @jit
    def scatter_planes_masked(gy, idx, y, zero, one, dx):
        """``scatter_planes`` of disjoint windows' ``gy * (y > 0)``, rounded as the ReLU gradient's NumPy writer
        (a product with 1.0 or 0.0)."""
        dx[...] = 0
        for m in range(gy.shape[0]):
            for o in range(gy.shape[1]):
                dx[m, idx[m, o]] = gy[m, o] * (one if y[m, o] > zero else zero)

    @jit
    def scatter_nhwc_masked(gy, idx, y, zero, one, dx):
        """``scatter_nhwc`` of disjoint windows' ``gy * (y > 0)`` (see ``scatter_planes_masked``)."""
        dx[...] = 0
        for n in range(gy.shape[0]):
            for o in range(gy.shape[1]):
                for k in range(gy.shape[2]):
                    dx[n, idx[n, o, k], k] = gy[n, o, k] * (one if y[n, o, k] > zero else zero)

    @jit
    def scatter_nhwc(gy, idx, disjoint, dx):
        """(N, OH*OW, C) gradients into (N, H*W, C) at their winners."""
        dx[...] = 0
        for n in range(gy.shape[0]):
            for o in range(gy.shape[1]):
                for k in range(gy.shape[2]):
                    if disjoint:
                        dx[n, idx[n, o, k], k] = gy[n, o, k]
                    else:
                        dx[n, idx[n, o, k], k] += gy[n, o, k]

    # ReLU as NumPy's maximum(x, 0) gives it, bit for bit: NaN kept, -0.0 and negatives to +0.0 (``zero``,
    # passed in the array's dtype, keeps the loop in that dtype).
    @jit
    def relu(x, zero, out):
        """Flat arrays."""
        for i in range(x.size):
            v = x[i]
            out[i] = zero if v < zero else v

    # In place, one array: given as two arguments that alias, the loops do not vectorize (2.6 against 0.7 ms
    # for the bias add and ReLU of the seed CNN's first activation at batch 128).
    @jit
    def relu_inplace(x, zero):
        for i in range(x.size):
            v = x[i]
            x[i] = zero if v < zero else v

    @jit
    def bias_relu(x, b, last, zero, out):
        """(outer, C, inner) arrays, ``b`` (C,): the float sum x + b first, as NumPy's add rounds it; with
        the channels ``last``, (outer, 1, C)."""
        for o in range(x.shape[0]):
            for c in range(x.shape[1]):
                xr, orow = x[o, c], out[o, c]
                for i in range(xr.size):
                    v = xr[i] + (b[i] if last else b[c])
                    orow[i] = zero if v < zero else v

    @jit
    def bias_relu_inplace(x, b, last, zero):
        for o in range(x.shape[0]):
            for c in range(x.shape[1]):
                row = x[o, c]
                for i in range(row.size):
                    v = row[i] + (b[i] if last else b[c])
                    row[i] = zero if v < zero else v

    @jit
    def relu_grad_select(g, y, zero, out):
        """PyTorch's ReLU gradient over flat arrays: 0 where y <= 0, else g (NumPy's where took 26 us here for
        what this does in 4, at the seed CNN's batch 1)."""
        for i in range(g.size):
            out[i] = zero if y[i] <= zero else g[i]

    @jit
    def erf(x, out):
        """math.erf of each element in double precision, rounded once to the array's dtype: Python's erf,
        which NumPy lacks (the element-by-element Python call took 140 ms for a million values)."""
        for i in range(x.size):
            out[i] = math.erf(numpy.float64(x[i]))

    @numba.extending.intrinsic
    def fma(typingctx, a, b, c):
        """a * b + c rounded once (LLVM's fma: the hardware's fused multiply-add, or an exact emulation)."""
        def codegen(context, builder, signature, args):
            return builder.fma(*args)
        return a(a, b, c), codegen

    @jit
    def fma_into(x, alpha, c, out):
        """out = x * alpha + c, each rounded once, as ATen's ``c.add(x, alpha=alpha)`` on the CPU."""
        for i in range(out.size):
            out[i] = fma(x[i], alpha, c[i])

    @jit
    def fma_arrays(x, y, c, out):
        """out = x * y + c, each rounded once, as ATen's CPU ``addcmul``."""
        for i in range(out.size):
            out[i] = fma(x[i], y[i], c[i])

    @jit
    def adam(w, g, m, v, coeff, small, b2, omb2, neg_rate, unbias, eps):
        """PyTorch's CPU Adam step over flat arrays in one pass, each operation where ATen's kernels round it
        (``core.ops.optim.Adam``; the scalars given in the arrays' dtype)."""
        for i in range(w.size):
            gi, mi = g[i], m[i]
            mi = fma(coeff, gi - mi, mi if small else gi)
            vi = fma(omb2 * gi, gi, v[i] * b2)
            m[i], v[i] = mi, vi
            w[i] = w[i] + (neg_rate * mi) / (numpy.sqrt(vi) / unbias + eps)

    @jit
    def conv_weight_grad_nhwc(x, gy, sh, sw, dh, dw, pt, pl, zero, out):
        """The weight gradient of an NHWC convolution: ``out`` (KH, KW, C, O) is the sum over the output pixels
        (n, oh, ow), in that order, of x[n, oh*sh + kh*dh - pt, ow*sw + kw*dw - pl, c] * gy[n, oh, ow, o],
        each term one fused multiply-add onto +0.0 (a tap in the padding adds nothing: x there is zero).
        The loop along O vectorizes."""
        n_, h_, w_, c_ = x.shape
        kh_, kw_, _, o_ = out.shape
        oh_, ow_ = gy.shape[1], gy.shape[2]
        out[...] = zero
        for n in range(n_):
            for oh in range(oh_):
                for ow in range(ow_):
                    g = gy[n, oh, ow]
                    for kh in range(kh_):
                        ih = oh * sh + kh * dh - pt
                        if ih < 0 or ih >= h_:
                            continue
                        for kw in range(kw_):
                            iw = ow * sw + kw * dw - pl
                            if iw < 0 or iw >= w_:
                                continue
                            for c in range(c_):
                                xv = x[n, ih, iw, c]
                                acc = out[kh, kw, c]
                                for o in range(o_):
                                    acc[o] = fma(xv, g[o], acc[o])

    # Convolutions with one input channel, a 3x3 kernel, stride 1 and each output row as long as the input's
    # (``thin_geometry``), in the layout of ``thin_image``: each tap's window of the image is one contiguous run
    # of a flat copy, so a pass is one long loop over the output pixels, which vectorizes.
    @jit
    def thin_image(x, pt, pl, dw, zero, xs):
        """Image ``x`` (H, W) into ``xs`` (3, L) (zero but for the image rows, which are written here): row kw
        holds the image flat, ``pt`` rows down and ``pl`` columns on, for kernel column kw, whose taps read
        input column ow + kw*dw - pl at output column ow.  A tap's run over the flat image wraps from each row
        into the next; the copy zeroes the columns that its taps reach only by that wrap (never in bounds), so
        that the wrapped reads read the padding's zeros."""
        h_, w_ = x.shape
        for kw in range(3):
            d = kw * dw - pl
            lo, hi = (max(w_ + d, 0), w_) if d < 0 else (0, min(d, w_))
            for i in range(h_):
                base = pl + (pt + i) * w_
                row, src = xs[kw, base:base + w_], x[i]
                for j in range(w_):
                    row[j] = src[j]
                for j in range(lo, hi):
                    row[j] = zero

    @jit
    def thin_taps(xs, dh, dw, w_, p_):
        """The nine taps' runs of ``thin_image``'s copies, each ``p_`` (OH*W) long, in (kh, kw) order."""
        def run(kh, kw):
            start = kh * dh * w_ + kw * dw
            return xs[kw, start:start + p_]
        return (run(0, 0), run(0, 1), run(0, 2), run(1, 0), run(1, 1), run(1, 2), run(2, 0), run(2, 1), run(2, 2))

    @jit
    def thin_copies(x3, dh, dw, p_):
        """The zeroed copies ``thin_image`` fills, for images ``x3`` (N, H, W) and ``p_`` output pixels."""
        return numpy.zeros((3, p_ + 2 * dh * x3.shape[2] + 2 * dw), x3.dtype)

    @jit
    def thin_conv_planes(x, w, pt, pl, dh, dw, zero, y):
        """NCHW ``y`` (N, O, OH, W) = ``x`` (N, 1, H, W) convolved with ``w`` (O, 1, 3, 3): each output one
        fused multiply-add per tap in (kh, kw) order onto +0.0 (a tap in the padding multiplies a zero).  The
        weights are read in the loop, not held before it: so the vector loop keeps them in registers while the
        scalar remainder re-reads them (held, both copies were live and 5 of 9 spilled: 1.5x slower)."""
        n_, o_, p_ = y.shape[0], y.shape[1], y.shape[2] * y.shape[3]
        x3 = x.reshape(n_, x.shape[2], x.shape[3])
        xs, w_ = thin_copies(x3, dh, dw, p_), x3.shape[2]
        wf, yf = w.reshape(o_, 9), y.reshape(n_, o_, p_)
        for n in range(n_):
            thin_image(x3[n], pt, pl, dw, zero, xs)
            t0, t1, t2, t3, t4, t5, t6, t7, t8 = thin_taps(xs, dh, dw, w_, p_)
            for o in range(o_):
                wo, yo = wf[o], yf[n, o]
                for q in range(p_):
                    acc = fma(t0[q], wo[0], zero)
                    acc = fma(t1[q], wo[1], acc)
                    acc = fma(t2[q], wo[2], acc)
                    acc = fma(t3[q], wo[3], acc)
                    acc = fma(t4[q], wo[4], acc)
                    acc = fma(t5[q], wo[5], acc)
                    acc = fma(t6[q], wo[6], acc)
                    acc = fma(t7[q], wo[7], acc)
                    acc = fma(t8[q], wo[8], acc)
                    yo[q] = acc

    @jit
    def thin_conv_nhwc(x, w, pt, pl, dh, dw, zero, y):
        """NHWC ``y`` (N, OH, W, O) = ``x`` (N, H, W, 1) convolved with ``w`` (3, 3, 1, O), rounded as
        ``thin_conv_planes``: per output pixel a loop along O, which vectorizes.  The pixel's taps are read in
        that loop for the reason ``thin_conv_planes`` reads its weights in its loop (held before it: 1.6x
        slower)."""
        n_, p_, o_ = y.shape[0], y.shape[1] * y.shape[2], y.shape[3]
        x3 = x.reshape(n_, x.shape[1], x.shape[2])
        xs, w_ = thin_copies(x3, dh, dw, p_), x3.shape[2]
        wf, yf = w.reshape(9, o_), y.reshape(n_, p_, o_)
        w0, w1, w2, w3, w4, w5, w6, w7, w8 = wf[0], wf[1], wf[2], wf[3], wf[4], wf[5], wf[6], wf[7], wf[8]
        for n in range(n_):
            thin_image(x3[n], pt, pl, dw, zero, xs)
            t0, t1, t2, t3, t4, t5, t6, t7, t8 = thin_taps(xs, dh, dw, w_, p_)
            for q in range(p_):
                yq = yf[n, q]
                for o in range(o_):
                    acc = fma(t0[q], w0[o], zero)
                    acc = fma(t1[q], w1[o], acc)
                    acc = fma(t2[q], w2[o], acc)
                    acc = fma(t3[q], w3[o], acc)
                    acc = fma(t4[q], w4[o], acc)
                    acc = fma(t5[q], w5[o], acc)
                    acc = fma(t6[q], w6[o], acc)
                    acc = fma(t7[q], w7[o], acc)
                    acc = fma(t8[q], w8[o], acc)
                    yq[o] = acc

    # Reassociation lets the dot products vectorize: each sum in lanes of the vector width, then the lanes added.
    @numba.njit(nogil=True, boundscheck=False, error_model="numpy", fastmath={"reassoc", "contract"})
    def thin_dots(g, t, zero):
        """The nine dot products of ``g`` with the taps' runs ``t``, in one pass over ``g``."""
        t0, t1, t2, t3, t4, t5, t6, t7, t8 = t
        s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = zero
        for q in range(g.size):
            v = g[q]
            s0 += v * t0[q]
            s1 += v * t1[q]
            s2 += v * t2[q]
            s3 += v * t3[q]
            s4 += v * t4[q]
            s5 += v * t5[q]
            s6 += v * t6[q]
            s7 += v * t7[q]
            s8 += v * t8[q]
        return s0, s1, s2, s3, s4, s5, s6, s7, s8

    @jit
    def thin_weight_grad_planes(x, gy, pt, pl, dh, dw, zero, out):
        """The weight gradient ``out`` (O, 1, 3, 3) of ``thin_conv_planes``: per image and output channel the
        nine dot products of the channel's gradient plane with the taps' runs (``thin_dots``), added to the
        sums of the images before."""
        n_, o_, p_ = gy.shape[0], gy.shape[1], gy.shape[2] * gy.shape[3]
        x3 = x.reshape(n_, x.shape[2], x.shape[3])
        xs, w_ = thin_copies(x3, dh, dw, p_), x3.shape[2]
        of, gf = out.reshape(o_, 9), gy.reshape(n_, o_, p_)
        of[...] = zero
        for n in range(n_):
            thin_image(x3[n], pt, pl, dw, zero, xs)
            t = thin_taps(xs, dh, dw, w_, p_)
            for o in range(o_):
                s, r = thin_dots(gf[n, o], t, zero), of[o]
                for k in range(9):
                    r[k] += s[k]

    # Reassociation lets the sum run in vector lanes (the lanes added at the end): not NumPy's pairwise order,
    # as no two frameworks' bias gradients sum in one order.
    @numba.njit(nogil=True, boundscheck=False, error_model="numpy", fastmath={"reassoc"})
    def plane_sums(x, zero, out):
        """out[c] = the sum of row ``x[c]``, from +0.0."""
        for c in range(x.shape[0]):
            row, s = x[c], zero
            for p in range(row.size):
                s += row[p]
            out[c] = s

    @jit
    def adam_powers(w, g, m, v, omb1, omb2, alpha, eps):
        """TF1's and Keras' Adam step (``core.ops.optim.AdamPowers``) over flat arrays in one pass, rounded where
        its NumPy expressions round (the scalars in the arrays' dtype)."""
        for i in range(w.size):
            gi, mi, vi = g[i], m[i], v[i]
            mi = mi + (gi - mi) * omb1
            vi = vi + (gi * gi - vi) * omb2
            m[i], v[i] = mi, vi
            w[i] = w[i] - (mi * alpha) / (numpy.sqrt(vi) + eps)

    @jit
    def outer(a, b, zero, out):
        """out[i, j] = a[i] * b[j] + 0 (the sum a matmul starts at +0.0 turns a -0.0 product into +0.0)."""
        for i in range(a.size):
            ai = a[i]
            for j in range(b.size):
                out[i, j] = ai * b[j] + zero

    @jit
    def sparse_xent(z, labels, zero, one, rows, backprop):
        """Softmax cross-entropy of logits ``z`` (N, C) against class indices: row losses into ``rows`` (N,),
        d(loss)/dz into ``backprop`` (N, C).  Returns the first row whose label is outside [0, C), or -1."""
        n, c = z.shape
        for i in range(n):
            k = labels[i]
            if k < 0 or k >= c:
                return i
            top = z[i, 0]
            for j in range(1, c):
                v = z[i, j]
                if v > top or v != v:       # a NaN wins, as in NumPy's max
                    top = v
            se = zero
            for j in range(c):
                e = numpy.exp(z[i, j] - top)
                backprop[i, j] = e
                se += e
            q = one / se
            for j in range(c):
                backprop[i, j] = backprop[i, j] * q
            backprop[i, k] -= one
            rows[i] = numpy.log(se) - (z[i, k] - top)
        return -1

    # Philox uniforms, bit for bit ``philox.uniform``: the same ``block``, compiled, a block at a time.
    block = jit(philox.block)
    lo, hi, zero = philox.LO, philox.HI, numpy.uint64(0)
    top, top2 = numpy.uint64(5), numpy.uint64(6)

    @jit
    def uniform_words(k0, k1, start, out):
        """One word a value (float32): its top 24 bits."""
        n = out.size
        for j in range((n + 3) // 4):
            c = start + numpy.uint64(j)
            w = block(c & lo, c >> hi, zero, zero, k0, k1)
            for t in range(min(4, n - 4 * j)):
                out[4 * j + t] = (w[t] >> numpy.uint64(8)) * 2.0 ** -24

    @jit
    def uniform_pairs(k0, k1, start, out):
        """Two words a value (float64): 53 bits, 27 from the first and 26 from the second."""
        n = out.size
        for j in range((n + 1) // 2):
            c = start + numpy.uint64(j)
            w = block(c & lo, c >> hi, zero, zero, k0, k1)
            out[2 * j] = ((w[0] >> top) * numpy.uint64(2 ** 26) + (w[1] >> top2)) * 2.0 ** -53
            if 2 * j + 1 < n:
                out[2 * j + 1] = ((w[2] >> top) * numpy.uint64(2 ** 26) + (w[3] >> top2)) * 2.0 ** -53

    return SimpleNamespace(pool_planes_2x2=pool_planes_2x2, pool_planes=pool_planes, pool_nhwc=pool_nhwc,
                           pool_nhwc_2x2=pool_nhwc_2x2,
                           scatter_planes=scatter_planes, scatter_nhwc=scatter_nhwc,
                           scatter_planes_masked=scatter_planes_masked, scatter_nhwc_masked=scatter_nhwc_masked,
                           relu=relu,
                           relu_inplace=relu_inplace, bias_relu=bias_relu, bias_relu_inplace=bias_relu_inplace,
                           relu_grad_select=relu_grad_select, erf=erf, adam=adam, adam_powers=adam_powers,
                           fma_into=fma_into, fma_arrays=fma_arrays, sparse_xent=sparse_xent, outer=outer,
                           conv_weight_grad_nhwc=conv_weight_grad_nhwc, plane_sums=plane_sums, thin_conv_planes=thin_conv_planes,
                           thin_conv_nhwc=thin_conv_nhwc, thin_weight_grad_planes=thin_weight_grad_planes,
                           uniform_words=uniform_words,
                           uniform_pairs=uniform_pairs)


class _InterruptsAfterCompiles:
    """A numba compile listener that holds Ctrl-C back until the compile ends, then raises it.  A
    KeyboardInterrupt that lands in llvmlite's callback during code generation is swallowed there ("Exception
    ignored on calling ctypes callback function") and the program runs on: `dualflow compare` interrupted in
    its first second of training kept training.  Only on the main thread (where Python handles signals), only
    while Python's own handler is installed (a program's own SIGINT handler is left alone)."""

    def __init__(self) -> None:
        self.depth, self.pending = 0, False

    # numba's Listener interface (its class is mixed in when numba is imported): a compile's start and end.
    def on_start(self, event: Any) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if self.depth:          # a compile inside a compile
            self.depth += 1
        elif signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, self._hold)
            self.depth = 1

    def on_end(self, event: Any) -> None:
        if threading.current_thread() is not threading.main_thread() or not self.depth:
            return
        self.depth -= 1
        if self.depth == 0:
            signal.signal(signal.SIGINT, signal.default_int_handler)
            if self.pending:
                self.pending = False
                raise KeyboardInterrupt

    def _hold(self, signum: int, frame: Any) -> None:
        self.pending = True


def usable(dtype: Any) -> bool:
    """Whether this module's kernels run for ``dtype`` (float32 or float64, numba installed, not switched off
    with ``DUALFLOW_NUMBA=0``)."""
    return numpy.dtype(dtype) in DTYPES and not switched_off("DUALFLOW_NUMBA") and _kernels() is not None


def max_pool_call(x: numpy.ndarray, kernel: tuple, stride: tuple, pads: tuple, fmt: str, y: numpy.ndarray,
                  idx: numpy.ndarray) -> Callable[[], None]:
    """Max pooling of contiguous ``x`` into ``y`` and the winners' flat in-plane indices into ``idx``, as a
    function of no arguments (the kernel with its views bound)."""
    k = _kernels()
    (kh, kw), (sh, sw), (pt, pl) = kernel, stride, (pads[0], pads[2])
    hw, ohw = (x.shape[1:3], y.shape[1:3]) if fmt == "NHWC" else (x.shape[2:], y.shape[2:])
    tiles = kernel == stride == (2, 2) and (pt, pl) == (0, 0) and 2 * ohw[0] <= hw[0] and 2 * ohw[1] <= hw[1]
    if fmt == "NHWC":
        if tiles:
            return functools.partial(k.pool_nhwc_2x2, x, y, idx)
        return functools.partial(k.pool_nhwc, x, kh, kw, sh, sw, pt, pl, y, idx)
    planes = x.reshape((-1,) + x.shape[2:])
    out = y.reshape((-1,) + y.shape[2:]), idx.reshape((-1,) + idx.shape[2:])
    oh, ow = ohw
    if tiles and oh:
        pairs = planes[:, :2 * oh].reshape(planes.shape[0], oh, 2, planes.shape[2])     # a view: odd H drops a row
        return functools.partial(k.pool_planes_2x2, pairs, _corners(oh, ow, x.shape[3]),
                                 out[0].reshape(len(pairs), -1), out[1].reshape(len(pairs), -1))
    return functools.partial(k.pool_planes, planes, kh, kw, sh, sw, pt, pl, *out)


@functools.lru_cache(maxsize=64)
def _corners(oh: int, ow: int, w: int) -> numpy.ndarray:
    """Each 2x2 window's top-left flat offset 2*oy*W + 2*ox, (OH*OW,) int32, made once per shape."""
    a = (2 * numpy.arange(oh)[:, None] * w + 2 * numpy.arange(ow)[None, :]).astype(numpy.int32).ravel()
    a.flags.writeable = False
    return a


def max_pool_grad_call(gy: numpy.ndarray, idx: numpy.ndarray, disjoint: bool, fmt: str,
                       dx: numpy.ndarray, mask: numpy.ndarray | None = None) -> Callable[[], None]:
    """Each of contiguous ``gy`` added at its window's winner ``idx`` into ``dx``, zeroed first; stored, not
    added, where the windows are ``disjoint``: as a function of no arguments (the kernel with its views).
    With ``mask`` (the pooled output, contiguous, of ``gy``'s shape and dtype; disjoint windows only), each
    gradient is ``gy * (mask > 0)``."""
    k = _kernels()
    if fmt == "NHWC":
        n, c = dx.shape[0], dx.shape[3]
        planes = lambda a: a.reshape(n, -1, c)
        kernel, plain = k.scatter_nhwc_masked, k.scatter_nhwc
    else:
        m = dx.shape[0] * dx.shape[1]
        planes = lambda a: a.reshape(m, -1)
        kernel, plain = k.scatter_planes_masked, k.scatter_planes
    if mask is None:
        return functools.partial(plain, planes(gy), planes(idx), disjoint, planes(dx))
    if not disjoint:
        raise ValueError("max_pool_grad_call: a mask needs disjoint windows")
    t = dx.dtype.type
    return functools.partial(kernel, planes(gy), planes(idx), planes(mask), t(0), t(1), planes(dx))


def relu(x: numpy.ndarray, out: numpy.ndarray) -> None:
    """``out = 0 where x < 0, else x`` (NaN and -0.0 kept, see ``ArrayBackend.relu``) for C-contiguous ``x`` and
    ``out`` of one shape and dtype: the same array, or two that do not overlap (``applies``)."""
    k, zero = _kernels(), x.dtype.type(0)
    if out is x:
        k.relu_inplace(x.reshape(-1), zero)
    else:
        k.relu(x.reshape(-1), zero, out.reshape(-1))


def bias_relu_call(x: numpy.ndarray, b: numpy.ndarray, axis: int, out: numpy.ndarray) -> Callable[[], None]:
    """``out = relu(x + b)`` with ``b`` along ``axis`` (arrays as for ``relu``), as a function of no arguments
    (the kernel with its views bound)."""
    axis %= x.ndim
    outer, c = math.prod(x.shape[:axis]), x.shape[axis]
    last = x.size == outer * c         # channels last (NHWC, a dense layer): rows of C, one loop along them
    shape = (outer, 1, c) if last else (outer, c, x.size // max(outer * c, 1))
    k, zero = _kernels(), x.dtype.type(0)
    if out is x:
        return functools.partial(k.bias_relu_inplace, x.reshape(shape), b, last, zero)
    return functools.partial(k.bias_relu, x.reshape(shape), b, last, zero, out.reshape(shape))


def erf(x: numpy.ndarray, out: numpy.ndarray) -> None:
    """``out = erf(x)`` for C-contiguous arrays of one shape and dtype (``out`` new), Python's ``math.erf``."""
    _kernels().erf(x.reshape(-1), out.reshape(-1))


def relu_grad_select(g: numpy.ndarray, y: numpy.ndarray, out: numpy.ndarray) -> None:
    """``out = where(y <= 0, 0, g)`` for C-contiguous arrays of one shape and dtype (``out`` new)."""
    _kernels().relu_grad_select(g.reshape(-1), y.reshape(-1), g.dtype.type(0), out.reshape(-1))


def uniform(state: numpy.ndarray, out: numpy.ndarray) -> None:
    """Fill contiguous ``out`` from the Philox ``state`` (``backends/philox.py``) and advance it."""
    k = _kernels()
    seed, start = (numpy.uint64(v) for v in state)
    k0, k1, flat = seed & philox.LO, seed >> philox.HI, out.reshape(-1)
    if out.dtype.itemsize == 8:
        k.uniform_pairs(k0, k1, start, flat)
    else:
        k.uniform_words(k0, k1, start, flat)
    state[1:] += numpy.uint64(philox.blocks(out.size, out.dtype))


def applies(x: numpy.ndarray, *others: numpy.ndarray, out: numpy.ndarray | None = None) -> bool:
    """Whether an elementwise kernel here runs over ``x`` and ``others`` into ``out`` (None: a new array, or
    the operands are written in place): all C-contiguous, of one shape and dtype, float32 or float64, and
    ``out`` either ``x`` itself or apart from every operand."""
    # Plain loops, not generators: a batch-1 step asks some ten times, and each generator cost ~1 us.
    if not usable(x.dtype) or not x.flags.c_contiguous:
        return False
    shape, dtype = x.shape, x.dtype
    for a in others:
        if a.shape != shape or a.dtype != dtype or not a.flags.c_contiguous:
            return False
    if out is None or out is x:
        return True
    return (out.flags.c_contiguous and out.shape == x.shape and out.dtype == x.dtype
            and not any(numpy.may_share_memory(a, out) for a in (x, *others)))


def conv_weight_grad(x: numpy.ndarray, gy: numpy.ndarray, stride: tuple, pads: tuple, dilation: tuple,
                     out: numpy.ndarray) -> None:
    """The weight gradient of an NHWC convolution (groups 1) into C-contiguous ``out`` (HWIO), from ``x`` and
    ``gy`` of its dtype, C-contiguous; ``pads`` (top, bottom, left, right).  Only the passes that measure faster
    than oneDNN 3.2 run here (``numpy_kernels._thin``): with one input channel its NHWC weight
    gradient (jit:avx2) took 87-150 us at batch 1 and 4.2 ms at batch 32 against 37 us and 1.2 ms for this
    loop.  It sums each weight's terms pixel by pixel with fused multiply-adds, as oneDNN does on the seed CNN's
    first layer (3x3, stride 1, same padding: the same bits there; other geometries agree to float32
    rounding)."""
    _kernels().conv_weight_grad_nhwc(x, gy, stride[0], stride[1], dilation[0], dilation[1], pads[0], pads[2],
                                     out.dtype.type(0), out)


def plane_sums_call(x: numpy.ndarray, out: numpy.ndarray) -> Callable[[], None]:
    """``out[c] = x[c].sum()`` for C-contiguous 2-D ``x`` and ``out`` of its dtype, summed in the machine's
    vector lanes (within float32 rounding of NumPy's pairwise sum, not its bits); NaN and infinities as in
    any sum, a row of -0.0 sums to +0.0 as NumPy's does.  As a function of no arguments."""
    return functools.partial(_kernels().plane_sums, x, x.dtype.type(0), out)


def thin_geometry(kernel: tuple, stride: tuple, pads: tuple, dilation: tuple) -> bool:
    """Whether ``thin_conv`` and ``thin_conv_weight_grad`` take a convolution (one input channel, one group) of
    this geometry: a 3x3 kernel at stride 1, no negative padding, and output rows as long as the input's (the
    left and right padding add up to the dilated kernel's width less one: "same" padding along W)."""
    return (tuple(kernel) == (3, 3) and tuple(stride) == (1, 1) and min(pads) >= 0
            and pads[2] + pads[3] == 2 * dilation[1])


def thin_conv(x: numpy.ndarray, w: numpy.ndarray, pads: tuple, dilation: tuple, fmt: str, out: numpy.ndarray) -> None:
    """The convolution of ``x`` with one input channel (NCHW or NHWC ``fmt``) and ``w`` (OIHW or HWIO) into
    ``out``, all C-contiguous of one dtype, for a ``thin_geometry``; ``pads`` (top, bottom, left, right).  It
    runs in oneDNN 3.2's place (``numpy_kernels._thin``): on the seed CNN's first layer (1->32, 28x28) about
    10 us against 15-17 at batch 1 (oneDNN's jit:avx2 NHWC and sgemm NCHW kernels), 1.1-1.6x faster up to
    batch 128.  Each output is one fused multiply-add per tap in (kh, kw) order onto +0.0, as oneDNN's direct
    NHWC kernel sums: its bits, in both layouts (oneDNN's NCHW sgemm rounds its last output channels
    otherwise).  A tap in the padding multiplies a zero, as im2col does: an infinite or NaN weight gives NaN
    there."""
    k = _kernels()
    kernel = k.thin_conv_planes if fmt == "NCHW" else k.thin_conv_nhwc
    kernel(x, w, pads[0], pads[2], dilation[0], dilation[1], out.dtype.type(0), out)


def thin_conv_weight_grad(x: numpy.ndarray, gy: numpy.ndarray, pads: tuple, dilation: tuple,
                          out: numpy.ndarray) -> None:
    """The weight gradient of ``thin_conv`` in NCHW into ``out`` (OIHW), from ``x`` and ``gy``, all C-contiguous
    of one dtype: on the seed CNN's first layer about 2.3x faster than oneDNN 3.2's sgemm (10 against 23 us at
    batch 1).
    Each weight's sum runs per image in the vector lanes LLVM picks for the machine (``thin_dots``), the
    images' sums added in order: not oneDNN's bits (nor ``conv_weight_grad``'s), but within float32 rounding
    of the exact sum."""
    _kernels().thin_weight_grad_planes(x, gy, pads[0], pads[2], dilation[0], dilation[1], out.dtype.type(0), out)


def adam(w: numpy.ndarray, g: numpy.ndarray, m: numpy.ndarray, v: numpy.ndarray, b1: float, b2: float, eps: float,
         rate: Any, unbias: Any) -> bool:
    """PyTorch's non-amsgrad Adam step in place (``core.ops.optim.Adam``, with ``rate`` and ``unbias`` from its
    ``step_size``), bit for bit; False, having done nothing, where it does not apply: other than C-contiguous
    float32 or float64 arrays of one shape."""
    arrays = (w, g, m, v)
    if not applies(*arrays):
        return False
    t = w.dtype.type
    weight = t(1 - b1)
    small = bool(abs(weight) < 0.5)
    _kernels().adam(*_flat(arrays), weight if small else weight - t(1), small, t(b2), t(1 - b2), t(-rate), t(unbias),
                    t(eps))
    return True


def _flat(arrays: tuple) -> tuple:
    """C-contiguous ``arrays`` as 1-D (a flat optimizer buffer already is: no reshape to pay for)."""
    return arrays if all(a.ndim == 1 for a in arrays) else tuple(a.reshape(-1) for a in arrays)


def adam_powers(w: numpy.ndarray, g: numpy.ndarray, m: numpy.ndarray, v: numpy.ndarray, omb1: Any, omb2: Any,
                alpha: Any, eps: Any) -> bool:
    """TF1's and Keras' Adam step in place (``core.ops.optim.AdamPowers``, its scalars given in the arrays' dtype),
    bit for bit its NumPy expressions; False, having done nothing, where the kernels do not apply (see ``adam``)."""
    run = adam_powers_call(w, g, m, v)
    if run is None:
        return False
    t = w.dtype.type
    run(t(omb1), t(omb2), t(alpha), t(eps))
    return True


def adam_powers_call(w: numpy.ndarray, g: numpy.ndarray, m: numpy.ndarray,
                     v: numpy.ndarray) -> Callable[[Any, Any, Any, Any], None] | None:
    """``adam_powers`` on these arrays as a function of its scalars (omb1, omb2, alpha, eps, each of the arrays'
    dtype), or None where the kernels do not apply."""
    arrays = (w, g, m, v)
    if not applies(*arrays):
        return None
    return functools.partial(_kernels().adam_powers, *_flat(arrays))


def outer_call(a: numpy.ndarray, b: numpy.ndarray, out: numpy.ndarray) -> Callable[[], None] | None:
    """``out = a @ b`` for a one-column ``a`` (M, 1) and a one-row ``b`` (1, N), as matmul rounds it (each
    result one product, +0.0 for a -0.0 one), into C-contiguous ``out`` (M, N) of their dtype, as a function of
    no arguments; None where the kernels do not apply."""
    if not (usable(out.dtype) and a.dtype == b.dtype == out.dtype and out.flags.c_contiguous
            and not numpy.may_share_memory(out, a) and not numpy.may_share_memory(out, b)):
        return None
    return functools.partial(_kernels().outer, a.reshape(-1), b.reshape(-1), out.dtype.type(0), out)


def sparse_xent_call(z: numpy.ndarray, labels: numpy.ndarray, rows: numpy.ndarray,
                     backprop: numpy.ndarray) -> Callable[[], int]:
    """Each row's softmax cross-entropy against its class index into ``rows`` and the gradient into ``backprop``
    (``z`` and ``backprop`` C-contiguous (N, C) of one float dtype, ``rows`` (N,)), as a function of no arguments
    returning the first row with a label outside [0, C), or -1."""
    t = z.dtype.type
    return functools.partial(_kernels().sparse_xent, z, labels, t(0), t(1), rows, backprop)


def fma(x: numpy.ndarray, alpha: Any, c: numpy.ndarray, out: numpy.ndarray) -> bool:
    """out = x * alpha + c rounded once per element (``alpha`` a scalar, or an array like ``x``; ``out`` may be
    ``c``); False, having done nothing, where the kernels do not apply (see ``applies``)."""
    arrays = (x, alpha, c) if isinstance(alpha, numpy.ndarray) else (x, c)
    if not (applies(*arrays) if out is c else applies(*arrays, out=out)):
        return False
    if len(arrays) == 3:
        _kernels().fma_arrays(x.reshape(-1), alpha.reshape(-1), c.reshape(-1), out.reshape(-1))
    else:
        _kernels().fma_into(x.reshape(-1), x.dtype.type(alpha), c.reshape(-1), out.reshape(-1))
    return True
