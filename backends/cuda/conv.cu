// Convolution as implicit GEMM with shared-memory tiling: no im2col buffer in global memory.
// One templated kernel serves the three products; MODE picks how the A and B tiles are gathered:
//   0 forward      C[m = (n,oh,ow), j = o]         = sum_k x[n,c,ih,iw] * W[o,k],        k = (c,kh,kw)
//   1 grad input   C[m = (n,h,w),  j = c]          = sum_k gy[n,o,oh,ow] * W[o,c,kh,kw], k = (o,kh,kw)
//   2 grad weight  C[m = o,        j = (c,kh,kw)]  = sum_k gy[n,o,oh,ow] * x[n,c,ih,iw], k = (n,oh,ow);
//                  the k range is split over gridDim.z, each block writing its own partial sum
//                  (reduced afterwards) instead of contending with atomics.
// Index arithmetic, not memory, limited the first version (ncu: DRAM < 1%, L1 hits > 89%), so every
// division is hoisted: a thread's tile row (m) and column (j) never change across the k loop and are
// decoded once, and each 16-wide k slice is decoded once per block into shared memory.
#define BM 64
#define BN 64
#define BK 16

template <typename T, int MODE>
__global__ void __launch_bounds__(256) conv_gemm(const T* __restrict__ a, const T* __restrict__ b,
                                                 T* __restrict__ c, int N, int C, int H, int W, int O, int KH,
                                                 int KW, int OH, int OW, int sh, int sw, int pt, int pl, int dh,
                                                 int dw, int M, int Nn, int K, int k_chunk) {
    __shared__ T As[BK][BM + 1];
    __shared__ T Bs[BK][BN + 1];
    __shared__ int kt[BK][4];                 // the current k slice, decoded
    const int tid = threadIdx.x;
    const int tx = tid % 16, ty = tid / 16;  // 16 x 16 threads, 4 x 4 outputs each
    const int m0 = blockIdx.y * BM, j0 = blockIdx.x * BN;
    const int k_begin = blockIdx.z * k_chunk;
    const int k_end = min(K, k_begin + k_chunk);
    const int lane = tid % 64, row0 = tid / 64;   // this thread loads A[m0+lane][.] and B[.][j0+lane]
    const int m = m0 + lane, j = j0 + lane;
    const bool m_ok = m < M, j_ok = j < Nn;
    const int KK = KH * KW, HW = H * W, OHW = OH * OW;

    // Per-thread constants of its A row and B column.
    long a_base = 0, b_base = 0;
    int r0 = 0, r1 = 0;                      // row offsets (input or output coordinates)
    if (MODE == 0) {
        int ow = m % OW, t = m / OW, oh = t % OH, n = t / OH;
        a_base = (long)n * C * HW; r0 = oh * sh - pt; r1 = ow * sw - pl;
        b_base = (long)j * K;
    } else if (MODE == 1) {
        int w = m % W, t = m / W, h = t % H, n = t / H;
        a_base = (long)n * O * OHW; r0 = h + pt; r1 = w + pl;
        b_base = (long)j * KK;
    } else {
        int kw = j % KW, t = j / KW, kh = t % KH, cc = t / KH;
        a_base = (long)m * OHW;
        b_base = (long)cc * HW; r0 = kh * dh; r1 = kw * dw;
    }

    T acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int q = 0; q < 4; ++q) acc[i][q] = T(0);

    for (int k0 = k_begin; k0 < k_end; k0 += BK) {
        if (tid < BK) {
            int k = k0 + tid;
            if (MODE == 0) {
                int kw = k % KW, t = k / KW, kh = t % KH, cc = t / KH;
                kt[tid][0] = cc * HW; kt[tid][1] = kh * dh; kt[tid][2] = kw * dw;
            } else if (MODE == 1) {
                int kw = k % KW, t = k / KW, kh = t % KH, o = t / KH;
                kt[tid][0] = o * OHW; kt[tid][1] = kh * dh; kt[tid][2] = kw * dw; kt[tid][3] = o * C * KK + kh * KW + kw;
            } else {
                int ow = k % OW, t = k / OW, oh = t % OH, n = t / OH;
                kt[tid][0] = n; kt[tid][1] = oh * sh - pt; kt[tid][2] = ow * sw - pl; kt[tid][3] = oh * OW + ow;
            }
        }
        __syncthreads();
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            const int kk = row0 + 4 * r;
            const bool k_ok = k0 + kk < k_end;
            T av = T(0), bv = T(0);
            if (MODE == 0) {
                if (m_ok && k_ok) {
                    int ih = r0 + kt[kk][1], iw = r1 + kt[kk][2];
                    if (ih >= 0 && ih < H && iw >= 0 && iw < W) av = a[a_base + kt[kk][0] + ih * W + iw];
                }
                if (j_ok && k_ok) bv = b[b_base + k0 + kk];
            } else if (MODE == 1) {
                if (m_ok && k_ok) {
                    int th = r0 - kt[kk][1], tw = r1 - kt[kk][2];
                    if (th >= 0 && tw >= 0 && th % sh == 0 && tw % sw == 0) {
                        int oh = th / sh, ow = tw / sw;
                        if (oh < OH && ow < OW) av = a[a_base + kt[kk][0] + oh * OW + ow];
                    }
                }
                if (j_ok && k_ok) bv = b[kt[kk][3] + b_base];
            } else {
                if (m_ok && k_ok) av = a[(long)kt[kk][0] * O * OHW + a_base + kt[kk][3]];
                if (j_ok && k_ok) {
                    int ih = kt[kk][1] + r0, iw = kt[kk][2] + r1;
                    if (ih >= 0 && ih < H && iw >= 0 && iw < W) bv = b[(long)kt[kk][0] * C * HW + b_base + ih * W + iw];
                }
            }
            As[kk][lane] = av;
            Bs[kk][lane] = bv;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < BK; ++kk) {
            T av[4], bv[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) av[i] = As[kk][ty + 16 * i];
#pragma unroll
            for (int q = 0; q < 4; ++q) bv[q] = Bs[kk][tx + 16 * q];
#pragma unroll
            for (int i = 0; i < 4; ++i)
#pragma unroll
                for (int q = 0; q < 4; ++q) acc[i][q] += av[i] * bv[q];
        }
        __syncthreads();
    }

#pragma unroll
    for (int i = 0; i < 4; ++i) {
        const int mm = m0 + ty + 16 * i;
        if (mm >= M) continue;
        long base;
        int step;
        if (MODE == 0) {          // y[n, o, oh, ow]: consecutive j are OHW apart
            int p = mm % OHW, n = mm / OHW;
            base = (long)n * Nn * OHW + p; step = OHW;
        } else if (MODE == 1) {   // dx[n, c, h, w]
            int p = mm % HW, n = mm / HW;
            base = (long)n * Nn * HW + p; step = HW;
        } else {                  // partial[z, o, j]
            base = (long)blockIdx.z * M * Nn + (long)mm * Nn; step = 1;
        }
#pragma unroll
        for (int q = 0; q < 4; ++q) {
            const int jj = j0 + tx + 16 * q;
            if (jj < Nn) c[base + (long)jj * step] = acc[i][q];
        }
    }
}

#ifdef DUALFLOW_INSTANTIATE  // explicit instances, so an offline nvcc compile checks the template bodies
#define DF_INTS int, int, int, int, int, int, int, int, int, int, int, int, int, int, int, int, int, int, int
template __global__ void conv_gemm<float, 0>(const float*, const float*, float*, DF_INTS);
template __global__ void conv_gemm<float, 1>(const float*, const float*, float*, DF_INTS);
template __global__ void conv_gemm<float, 2>(const float*, const float*, float*, DF_INTS);
template __global__ void conv_gemm<double, 2>(const double*, const double*, double*, DF_INTS);
#endif
