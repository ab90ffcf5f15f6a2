/* c[n] = a[k] · b[k,n] for one row a (a single-sample forward pass), reading b once, row by
   row, in its own order: the access pattern the hardware prefetchers stream fastest. The
   columns are cut in chunks of 256 held in 16 AVX-512 registers, the last few in one masked
   register (plain C without AVX-512), and a large matrix is split by columns between the
   cores (each keeps its half of the weights in its own cache from call to call). */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

/* Chunks of 256, 128, 64 or 16 columns of c accumulate in 16, 8, 4 or 1 AVX-512 registers. */
#define GEMV_CHUNK(width)                                                                      \
    for (; j + 16 * (width) <= j1; j += 16 * (width)) {                                        \
        __m512 s[width];                                                                       \
        for (int r = 0; r < (width); r++) s[r] = _mm512_setzero_ps();                          \
        for (int64_t p = 0; p < k; p++) {                                                      \
            __m512 x = _mm512_set1_ps(a[p]);                                                   \
            const float *row = b + p * n + j;                                                  \
            for (int r = 0; r < (width); r++) s[r] = _mm512_fmadd_ps(x, _mm512_loadu_ps(row + 16 * r), s[r]); \
        }                                                                                      \
        for (int r = 0; r < (width); r++) _mm512_storeu_ps(c + j + 16 * r, s[r]);              \
    }

__attribute__((target("avx512f"))) static void gemv_avx512(int64_t k, int64_t n, int64_t j0, int64_t j1,
                                                           const float *a, const float *b, float *c) {
    int64_t j = j0;
    GEMV_CHUNK(16)
    GEMV_CHUNK(8)
    GEMV_CHUNK(4)
    GEMV_CHUNK(1)
    if (j < j1) {
        /* The last 1 to 15 columns in one masked register. */
        __mmask16 mask = (__mmask16)((1u << (j1 - j)) - 1);
        __m512 s = _mm512_setzero_ps();
        for (int64_t p = 0; p < k; p++) {
            s = _mm512_fmadd_ps(_mm512_set1_ps(a[p]), _mm512_maskz_loadu_ps(mask, b + p * n + j), s);
        }
        _mm512_mask_storeu_ps(c + j, mask, s);
    }
}
#endif

/* Columns [j0, j1) with plain C, for CPUs without AVX-512. */
static void gemv_plain(int64_t k, int64_t n, int64_t j0, int64_t j1, const float *a, const float *b, float *c) {
    if (j0 >= j1) return;
    for (int64_t j = j0; j < j1; j++) c[j] = 0.0f;
    for (int64_t p = 0; p < k; p++) {
        float x = a[p];
        const float *row = b + p * n;
        for (int64_t j = j0; j < j1; j++) c[j] += x * row[j];
    }
}

static void gemv_columns(int64_t k, int64_t n, int64_t j0, int64_t j1, const float *a, const float *b, float *c) {
#if defined(__x86_64__)
    if (kiln_cpu_has_avx512f()) {
        gemv_avx512(k, n, j0, j1, a, b, c);
        return;
    }
#endif
    gemv_plain(k, n, j0, j1, a, b, c);
}

static void gemv_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    const kiln_product_job *job = args[0];
    gemv_columns(job->k, job->n, begin, end, job->a, job->b, job->c);
}

/* Matrices of at least this many bytes are split between the cores, in parts of whole
   multiples of this many columns (eight registers). */
#define KILN_GEMV_SPLIT (256 * 1024)
#define KILN_GEMV_GRAIN 128

void kiln_gemv(int64_t k, int64_t n, const float *a, const float *b, float *c) {
    if ((int64_t)sizeof(float) * k * n < KILN_GEMV_SPLIT || n < 2 * KILN_GEMV_GRAIN) {
        gemv_columns(k, n, 0, n, a, b, c);
        return;
    }
    kiln_product_job job = {.n = n, .k = k, .a = a, .b = b, .c = c};
    void *args[1] = {&job};
    kiln_parallel_for_grain(n, 0, KILN_GEMV_GRAIN, gemv_part, args);
}
