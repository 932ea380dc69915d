// Pooling kernels, one thread per output (forward) or per input element (backward).
// The backward passes gather from the outputs whose window covers the element, so no atomics are needed.

template <typename T>
__global__ void max_pool_fwd(const T* __restrict__ x, T* __restrict__ y, int* __restrict__ idx, long total,
                             int H, int W, int OH, int OW, int kh, int kw, int sh, int sw, int pt, int pl) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= total) return;
    int ow = i % OW; long t = i / OW; int oh = t % OH; long nc = t / OH;
    const T* plane = x + nc * H * W;
    T best = T(0); int arg = -1;
    for (int a = 0; a < kh; ++a) {
        int h = oh * sh - pt + a;
        if (h < 0 || h >= H) continue;
        for (int b = 0; b < kw; ++b) {
            int w = ow * sw - pl + b;
            if (w < 0 || w >= W) continue;
            T v = plane[h * W + w];
            if (arg < 0 || v > best || v != v) { best = v; arg = h * W + w; }
        }
    }
    y[i] = best;
    idx[i] = arg;
}

template <typename T>
__global__ void max_pool_bwd(const T* __restrict__ gy, const int* __restrict__ idx, T* __restrict__ gx, long total,
                             int H, int W, int OH, int OW, int kh, int kw, int sh, int sw, int pt, int pl) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= total) return;
    int w = i % W; long t = i / W; int h = t % H; long nc = t / H;
    int oh_lo = max(0, (h + pt - kh + sh) / sh), oh_hi = min(OH - 1, (h + pt) / sh);
    int ow_lo = max(0, (w + pl - kw + sw) / sw), ow_hi = min(OW - 1, (w + pl) / sw);
    if (h + pt - kh + 1 < 0) oh_lo = 0;
    if (w + pl - kw + 1 < 0) ow_lo = 0;
    const long base = nc * OH * OW;
    const int me = h * W + w;
    T acc = T(0);
    for (int oh = oh_lo; oh <= oh_hi; ++oh)
        for (int ow = ow_lo; ow <= ow_hi; ++ow) {
            long o = base + oh * OW + ow;
            if (idx[o] == me) acc += gy[o];
        }
    gx[i] = acc;
}

template <typename T>
__global__ void avg_pool_fwd(const T* __restrict__ x, T* __restrict__ y, long total, int H, int W, int OH, int OW,
                             int kh, int kw, int sh, int sw, int pt, int pl, int include_pad) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= total) return;
    int ow = i % OW; long t = i / OW; int oh = t % OH; long nc = t / OH;
    const T* plane = x + nc * H * W;
    T s = T(0); int count = 0;
    for (int a = 0; a < kh; ++a) {
        int h = oh * sh - pt + a;
        if (h < 0 || h >= H) continue;
        for (int b = 0; b < kw; ++b) {
            int w = ow * sw - pl + b;
            if (w < 0 || w >= W) continue;
            s += plane[h * W + w];
            ++count;
        }
    }
    y[i] = s / T(include_pad ? kh * kw : count);
}

template <typename T>
__global__ void avg_pool_bwd(const T* __restrict__ gy, T* __restrict__ gx, long total, int H, int W, int OH, int OW,
                             int kh, int kw, int sh, int sw, int pt, int pl, int include_pad) {
    long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
    if (i >= total) return;
    int w = i % W; long t = i / W; int h = t % H; long nc = t / H;
    int oh_lo = (h + pt - kh + 1 <= 0) ? 0 : (h + pt - kh + sh) / sh;
    int ow_lo = (w + pl - kw + 1 <= 0) ? 0 : (w + pl - kw + sw) / sw;
    int oh_hi = min(OH - 1, (h + pt) / sh), ow_hi = min(OW - 1, (w + pl) / sw);
    const long base = nc * OH * OW;
    T acc = T(0);
    for (int oh = oh_lo; oh <= oh_hi; ++oh)
        for (int ow = ow_lo; ow <= ow_hi; ++ow) {
            int div = kh * kw;
            if (!include_pad) {
                int h0 = max(oh * sh - pt, 0), h1 = min(oh * sh - pt + kh, H);
                int w0 = max(ow * sw - pl, 0), w1 = min(ow * sw - pl + kw, W);
                div = (h1 - h0) * (w1 - w0);
            }
            acc += gy[base + oh * OW + ow] / T(div);
        }
    gx[i] = acc;
}

#ifdef DUALFLOW_INSTANTIATE  // explicit instances, so an offline nvcc compile checks the template bodies
template __global__ void max_pool_fwd<float>(const float*, float*, int*, long, int, int, int, int, int, int, int, int,
                                             int, int);
template __global__ void max_pool_bwd<float>(const float*, const int*, float*, long, int, int, int, int, int, int, int,
                                             int, int, int);
template __global__ void avg_pool_fwd<double>(const double*, double*, long, int, int, int, int, int, int, int, int,
                                              int, int, int);
template __global__ void avg_pool_bwd<double>(const double*, double*, long, int, int, int, int, int, int, int, int,
                                              int, int, int);
#endif
