/* gemm.c - the engine's own SGEMM for convolutions: C = act(A B + bias).
 *
 * B (the weights, K x N) is packed once when the model is loaded, into panels of
 * FN_GEMM_NR = 16 columns: panel p holds B[k][16p .. 16p+15] for k = 0..K-1, zeros
 * past N.  A (im2col rows, or the pixels of a 1x1 convolution) is read in place,
 * MR rows at a time; the micro-kernel keeps an MR x 16 block of C in registers over
 * a block of KC values of k, and on the last block adds the bias and applies relu
 * before the one store.  Every element of C is the sum over k in order (one fused
 * multiply-add each) plus the bias: the same for any tile, batch or thread count.
 *
 *   AVX2+FMA:  MR = 6,  two 8-float registers per row (12 accumulators)
 *   AVX-512F:  MR = 8, two panels: two 16-float registers per row (16 accumulators)
 * chosen at run time (fn_cpu_isa); without either the caller uses cblas_sgemm. */
#include <stdlib.h>
#include <string.h>

#include "layers/kernels.h"
#include "core/mem.h"
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define FN_X86 1
#endif

#define NR FN_GEMM_NR
#define KC 256       /* k per block (AVX2; AVX-512 takes half): B's block stays in L1 */
#define MR_MAX 12
#define FN_GEMM_L2_BYTES (1 << 20) /* the L2 the blocking assumes (x86 cores since ~2017: 1-2 MiB) */
#define FN_PF_K 32                 /* prefetch distance in k (32 x 64 bytes per panel) */

int fn_gemm_pack_b(const float *B, int K, int N, const float *bias, fn_packed_b *out)
{
    memset(out, 0, sizeof *out);
    const size_t panels = ((size_t)N + NR - 1) / NR;
    void *p = fn_alloc_big(sizeof(float) * panels * NR * (size_t)K), *b = NULL;
    if (!p || posix_memalign(&b, 64, sizeof(float) * panels * NR)) {
        free(p);
        return -1;
    }
    float *dst = p, *bb = b;
    for (size_t q = 0; q < panels; q++)
        for (int k = 0; k < K; k++)
            for (int j = 0; j < NR; j++) {
                size_t col = q * NR + (size_t)j;
                *dst++ = col < (size_t)N ? B[(size_t)k * N + col] : 0.0f;
            }
    for (size_t col = 0; col < panels * NR; col++)
        bb[col] = col < (size_t)N && bias ? bias[col] : 0.0f;
    *out = (fn_packed_b){K, N, p, b};
    return 0;
}

void fn_gemm_unpack_b(const fn_packed_b *pb, float *B)
{
    const size_t K = (size_t)pb->k, N = (size_t)pb->n;
    for (size_t col = 0; col < N; col++) {
        const float *src = pb->panels + col / NR * K * NR + col % NR;
        for (size_t k = 0; k < K; k++)
            B[k * N + col] = src[k * NR];
    }
}

/* Columns of panels [p0, p1) in plain C, for a CPU without the vector kernels (an
 * instruction set capped below AVX2 after the weights were packed): bias plus the sums
 * in k order; the caller applies the activation. */
static void packed_portable(int M, int p0, int p1, const float *A, int lda, const fn_packed_b *B, float *C,
                            int ldc)
{
    const size_t K = (size_t)B->k;
    const int c1 = p1 * NR < B->n ? p1 * NR : B->n;
    for (int i = 0; i < M; i++)
        for (int col = p0 * NR; col < c1; col++) {
            const float *b = B->panels + (size_t)(col / NR) * K * NR + col % NR, *a = A + (size_t)i * lda;
            float s = B->bias[col];
            for (size_t k = 0; k < K; k++)
                s += a[k] * b[k * NR];
            C[(size_t)i * ldc + col] = s;
        }
}

void fn_packed_b_free(fn_packed_b *pb)
{
    free(pb->panels);
    free(pb->bias);
    memset(pb, 0, sizeof *pb);
}

int fn_gemm_available(void)
{
    return fn_cpu_isa() >= FN_ISA_AVX2;
}

int fn_gemm_mr(void)
{
    return fn_cpu_isa() >= FN_ISA_AVX512 ? 8 : fn_cpu_isa() >= FN_ISA_AVX2 ? 6 : 1;
}

int fn_gemm_np(void)
{
    return fn_cpu_isa() >= FN_ISA_AVX512 ? 2 : 1;
}

/* One micro-tile: C[mr][16 np] (ldc) op= A[mr rows](a[r] + k) * B panels (16 per k) over kc.
 * first: start from zero (else from C); last: add bias, relu (1) or relu6 (2) if asked, then store. */

#ifdef FN_X86
__attribute__((target("avx2,fma"))) static void micro_avx2(int kc, const float *const *a, const float *b,
                                                           float *c, int ldc, int mr, const float *bias,
                                                           int first, int last, int relu)
{
    enum { MR = 6 };
    __m256 acc[MR][2];
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        if (first || r >= mr) {
            acc[r][0] = _mm256_setzero_ps(), acc[r][1] = _mm256_setzero_ps();
        } else {
            acc[r][0] = _mm256_loadu_ps(c + (size_t)r * ldc);
            acc[r][1] = _mm256_loadu_ps(c + (size_t)r * ldc + 8);
        }
    }
    const float *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];
    for (int k = 0; k < kc; k++, b += NR) {
        _mm_prefetch((const char *)(b + FN_PF_K * NR), _MM_HINT_T0);
        const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        __m256 x;
        x = _mm256_broadcast_ss(a0 + k);
        acc[0][0] = _mm256_fmadd_ps(x, b0, acc[0][0]), acc[0][1] = _mm256_fmadd_ps(x, b1, acc[0][1]);
        x = _mm256_broadcast_ss(a1 + k);
        acc[1][0] = _mm256_fmadd_ps(x, b0, acc[1][0]), acc[1][1] = _mm256_fmadd_ps(x, b1, acc[1][1]);
        x = _mm256_broadcast_ss(a2 + k);
        acc[2][0] = _mm256_fmadd_ps(x, b0, acc[2][0]), acc[2][1] = _mm256_fmadd_ps(x, b1, acc[2][1]);
        x = _mm256_broadcast_ss(a3 + k);
        acc[3][0] = _mm256_fmadd_ps(x, b0, acc[3][0]), acc[3][1] = _mm256_fmadd_ps(x, b1, acc[3][1]);
        x = _mm256_broadcast_ss(a4 + k);
        acc[4][0] = _mm256_fmadd_ps(x, b0, acc[4][0]), acc[4][1] = _mm256_fmadd_ps(x, b1, acc[4][1]);
        x = _mm256_broadcast_ss(a5 + k);
        acc[5][0] = _mm256_fmadd_ps(x, b0, acc[5][0]), acc[5][1] = _mm256_fmadd_ps(x, b1, acc[5][1]);
    }
    if (last) {
        const __m256 bias0 = _mm256_load_ps(bias), bias1 = _mm256_load_ps(bias + 8), z = _mm256_setzero_ps();
        const __m256 six = _mm256_set1_ps(6.0f);
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            acc[r][0] = _mm256_add_ps(acc[r][0], bias0), acc[r][1] = _mm256_add_ps(acc[r][1], bias1);
            if (relu == 1) /* max(x, 0) is 0 for NaN, as the reference's x > 0 ? x : 0 */
                acc[r][0] = _mm256_max_ps(acc[r][0], z), acc[r][1] = _mm256_max_ps(acc[r][1], z);
            else if (relu == 2) /* relu6: NaN stays NaN, -0 stays -0, as the reference's rule */
                acc[r][0] = _mm256_min_ps(six, _mm256_max_ps(z, acc[r][0])),
                acc[r][1] = _mm256_min_ps(six, _mm256_max_ps(z, acc[r][1]));
        }
    }
#pragma GCC unroll 6
    for (int r = 0; r < MR; r++)
        if (r < mr) {
            _mm256_storeu_ps(c + (size_t)r * ldc, acc[r][0]);
            _mm256_storeu_ps(c + (size_t)r * ldc + 8, acc[r][1]);
        }
}

/* AVX-512: MR = 8 rows by np = 2 panels (32 columns, two registers per row, 16
 * accumulators): per k, 8 broadcasts and 2 loads feed 16 multiply-adds.  np = 1 for
 * the last panel of an odd count.  bstride: floats from one panel to the next.
 * The body is instantiated for MR = 8, 4, 2 and 1 so that the last rows of a small
 * matrix (a 3x3 or 1x1 image at batch 1) do not pay for 8; each sum is the same
 * in-order FMA chain whichever instance computes it. */
__attribute__((target("avx512f"), always_inline)) static inline void
micro_avx512_body(const int MR, int kc, const float *const *a, const float *b, size_t bstride, int np, float *c,
                  int ldc, int mr, const float *bias, int first, int last, int relu)
{
    __m512 acc[8][2];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        acc[r][0] = first || r >= mr ? _mm512_setzero_ps() : _mm512_loadu_ps(c + (size_t)r * ldc);
        acc[r][1] = first || r >= mr || np < 2 ? _mm512_setzero_ps() : _mm512_loadu_ps(c + (size_t)r * ldc + 16);
    }
    const float *ar[8];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
        ar[r] = a[r];
    if (np == 2) {
        const float *b2 = b + bstride;
        for (int k = 0; k < kc; k++, b += NR, b2 += NR) {
            _mm_prefetch((const char *)(b + FN_PF_K * NR), _MM_HINT_T0);
            _mm_prefetch((const char *)(b2 + FN_PF_K * NR), _MM_HINT_T0);
            const __m512 p0 = _mm512_load_ps(b), p1 = _mm512_load_ps(b2);
#pragma GCC unroll 8
            for (int r = 0; r < MR; r++) {
                const __m512 x = _mm512_set1_ps(ar[r][k]);
                acc[r][0] = _mm512_fmadd_ps(x, p0, acc[r][0]), acc[r][1] = _mm512_fmadd_ps(x, p1, acc[r][1]);
            }
        }
    } else {
        for (int k = 0; k < kc; k++, b += NR) {
            _mm_prefetch((const char *)(b + FN_PF_K * NR), _MM_HINT_T0);
            const __m512 p0 = _mm512_load_ps(b);
#pragma GCC unroll 8
            for (int r = 0; r < MR; r++)
                acc[r][0] = _mm512_fmadd_ps(_mm512_set1_ps(ar[r][k]), p0, acc[r][0]);
        }
    }
    if (last) {
        const __m512 bv0 = _mm512_load_ps(bias), bv1 = np == 2 ? _mm512_load_ps(bias + 16) : _mm512_setzero_ps();
        const __m512 z = _mm512_setzero_ps(), six = _mm512_set1_ps(6.0f);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            acc[r][0] = _mm512_add_ps(acc[r][0], bv0), acc[r][1] = _mm512_add_ps(acc[r][1], bv1);
            if (relu == 1) /* max(x, 0) is 0 for NaN, as the reference's x > 0 ? x : 0 */
                acc[r][0] = _mm512_max_ps(acc[r][0], z), acc[r][1] = _mm512_max_ps(acc[r][1], z);
            else if (relu == 2) /* relu6: NaN stays NaN, -0 stays -0, as the reference's rule */
                acc[r][0] = _mm512_min_ps(six, _mm512_max_ps(z, acc[r][0])),
                acc[r][1] = _mm512_min_ps(six, _mm512_max_ps(z, acc[r][1]));
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++)
        if (r < mr) {
            _mm512_storeu_ps(c + (size_t)r * ldc, acc[r][0]);
            if (np == 2)
                _mm512_storeu_ps(c + (size_t)r * ldc + 16, acc[r][1]);
        }
}

#define FN_MICRO512(R)                                                                                        \
    __attribute__((target("avx512f"))) static void micro_avx512_##R(                                           \
        int kc, const float *const *a, const float *b, size_t bstride, int np, float *c, int ldc, int mr,       \
        const float *bias, int first, int last, int relu)                                                       \
    {                                                                                                           \
        micro_avx512_body(R, kc, a, b, bstride, np, c, ldc, mr, bias, first, last, relu);                       \
    }
FN_MICRO512(8)
FN_MICRO512(4)
FN_MICRO512(2)
FN_MICRO512(1)
#undef FN_MICRO512

/* The AVX2 kernel in the AVX-512 kernel's signature (one panel at a time). */
__attribute__((target("avx2,fma"))) static void micro_avx2_np(int kc, const float *const *a, const float *b,
                                                              size_t bstride, int np, float *c, int ldc, int mr,
                                                              const float *bias, int first, int last, int relu)
{
    (void)bstride, (void)np;
    micro_avx2(kc, a, b, c, ldc, mr, bias, first, last, relu);
}
#endif

typedef void (*micro_np_fn)(int kc, const float *const *a, const float *b, size_t bstride, int np, float *c,
                            int ldc, int mr, const float *bias, int first, int last, int relu);

void fn_gemm_packed(int M, int p0, int p1, const float *A, int lda, const fn_packed_b *B, fn_act act,
                    float *C, int ldc)
{
    micro_np_fn micro = NULL;
    int MR = 1, NP = 1; /* rows and panels per micro-tile */
#ifdef FN_X86
    micro_np_fn small[4] = {NULL, NULL, NULL, NULL}; /* kernels for the last rows: mr <= 1, 2, 4 */
    if (fn_cpu_isa() >= FN_ISA_AVX512) {
        micro = micro_avx512_8, MR = 8, NP = 2;
        small[1] = micro_avx512_1, small[2] = micro_avx512_2, small[3] = micro_avx512_4;
    }
    else if (fn_cpu_isa() >= FN_ISA_AVX2)
        micro = micro_avx2_np, MR = 6, NP = 1;
#endif
    /* relu: 1 relu, 2 relu6 (applied in the store), 0 linear or applied after */
    const int K = B->k, N = B->n, relu = act == FN_ACT_RELU ? 1 : act == FN_ACT_RELU6 ? 2 : 0;
    if (!micro)
        packed_portable(M, p0, p1, A, lda, B, C, ldc);
    const size_t bstride = (size_t)K * NR;
    /* The k-block of B's panels (KB x 16 NP) stays in L1 - unless A and a panel group
     * fit in half the L2 together (few rows: late layers at batch 1): then the whole k
     * range in one block, so each panel is read as one stream and C is stored once.
     * Either way the micro-kernel prefetches B FN_PF_K values of k ahead: at batch 1
     * the weights are used by few rows and (FaceNet's 91 MB) come from memory. */
    int KB = NP == 2 ? KC / 2 : KC;
    if ((size_t)M * (size_t)K + (size_t)K * NR * NP <= (size_t)FN_GEMM_L2_BYTES / 2 / sizeof(float))
        KB = K;
    float edge[MR_MAX * 2 * NR] = {0};    /* the last columns' tile, so nothing past N is written */
    for (int k0 = 0; micro && k0 < K; k0 += KB) {
        const int kc = K - k0 < KB ? K - k0 : KB, first = k0 == 0, last = k0 + kc == K;
        /* panels outer, rows inner: a block of B is read from L1 by every row block, and
         * the rows of A stream through once per panel group */
        for (int p = p0; p < p1; p += NP) {
            const int np = p1 - p < NP ? p1 - p : NP, width = np * NR;
            const float *b = B->panels + (size_t)p * bstride + (size_t)k0 * NR, *bias = B->bias + (size_t)p * NR;
            const int nr = N - p * NR < width ? N - p * NR : width;
            for (int i = 0; i < M; i += MR) {
                const int mr = M - i < MR ? M - i : MR;
                micro_np_fn mk = micro;
#ifdef FN_X86
                if (mr < MR && small[1])
                    mk = mr == 1 ? small[1] : mr == 2 ? small[2] : mr <= 4 ? small[3] : micro;
#endif
                const float *a[MR_MAX];
                for (int r = 0; r < MR; r++) /* rows past M repeat row i: computed, never stored */
                    a[r] = A + (size_t)(i + (r < mr ? r : 0)) * lda + k0;
                float *c = C + (size_t)i * ldc + (size_t)p * NR;
                if (nr == width) {
                    mk(kc, a, b, bstride, np, c, ldc, mr, bias, first, last, relu);
                    continue;
                }
                for (int r = 0; r < mr && !first; r++)
                    memcpy(edge + r * width, c + (size_t)r * ldc, sizeof(float) * (size_t)nr);
                mk(kc, a, b, bstride, np, edge, width, mr, bias, first, last, relu);
                for (int r = 0; r < mr; r++)
                    memcpy(c + (size_t)r * ldc, edge + r * width, sizeof(float) * (size_t)nr);
            }
        }
    }
    if (act != FN_ACT_LINEAR && (!micro || (act != FN_ACT_RELU && act != FN_ACT_RELU6))) /* the bias is in; the rest */
        fn_apply_act(act, NULL, C + (size_t)p0 * NR, (size_t)M,
                     (p1 * NR < N ? p1 * NR : N) - p0 * NR, ldc);
}
