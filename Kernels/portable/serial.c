/* The portable halves of the runtime, for C exported from a model (kiln export): a matrix
   product in plain C99 that an optimizing compiler vectorizes, and the parallel loops run
   on the calling thread. The exporter splices this file, with the portable parts of the
   other kernel files (KILN_PORTABLE defined), into the exported C; it is not part of the
   library, which runs products through oneDNN or OpenBLAS on every core. */
#include "kiln_prelude.h"

/* c[m,n] = op(a) x op(b), plus d when d is not NULL (laid out as c, possibly c itself),
   row-major: a is [m,k] ([k,m] when trans_a), b is [k,n] ([n,k] when trans_b). Without
   trans_b, each row of c is computed sixteen columns at a time, their sums kept in an array
   of sixteen (registers) while p runs over the rows of b: sixteen independent statements,
   which optimizing compilers turn into vector instructions even at -O2; with trans_b, each
   element is a dot product of two contiguous rows. */
static void product(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *restrict a,
                    const float *restrict b, const float *d, float *c) {
    const int64_t row_step = trans_a ? 1 : k, step = trans_a ? m : 1;
    for (int64_t i = 0; i < m; i++) {
        const float *restrict left = a + i * row_step;
        float *row = c + i * n;
        const float *base = d != NULL ? d + i * n : NULL;
        if (trans_b) {
            for (int64_t j = 0; j < n; j++) {
                const float *restrict column = b + j * k;
                float total = 0.0f;
                for (int64_t p = 0; p < k; p++) total += left[p * step] * column[p];
                row[j] = base != NULL ? base[j] + total : total;
            }
            continue;
        }
        int64_t j = 0;
        for (; j + 16 <= n; j += 16) {
            float s[16] = {0};
            for (int64_t p = 0; p < k; p++) {
                const float v = left[p * step];
                const float *restrict f = b + p * n + j;
                s[0] += v * f[0]; s[1] += v * f[1]; s[2] += v * f[2]; s[3] += v * f[3];
                s[4] += v * f[4]; s[5] += v * f[5]; s[6] += v * f[6]; s[7] += v * f[7];
                s[8] += v * f[8]; s[9] += v * f[9]; s[10] += v * f[10]; s[11] += v * f[11];
                s[12] += v * f[12]; s[13] += v * f[13]; s[14] += v * f[14]; s[15] += v * f[15];
            }
            for (int q = 0; q < 16; q++) row[j + q] = base != NULL ? base[j + q] + s[q] : s[q];
        }
        for (; j < n; j++) {
            float total = 0.0f;
            for (int64_t p = 0; p < k; p++) total += left[p * step] * b[p * n + j];
            row[j] = base != NULL ? base[j] + total : total;
        }
    }
}

void kiln_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
               const float *restrict a, const float *restrict b, float *restrict c) {
    product(trans_a, trans_b, m, n, k, a, b, NULL, c);
}

void kiln_gemm_add(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                   const float *a, const float *b, const float *d, float *c) {
    product(trans_a, trans_b, m, n, k, a, b, d, c);
}

void kiln_gemm_add_row(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                       const float *d, const float *row, float *sums, float *c) {
    product(trans_a, trans_b, m, n, k, a, b, NULL, sums);
    kiln_add_after_product(m, n, d, row, sums, c);
}

/* The parallel loops of generated code, on the calling thread: the whole range in one part. */
void kiln_parallel_for(int64_t total, int64_t n, kiln_part_fn body, void *const *args) {
    if (total > 0) body(0, total, n, args);
}

void kiln_parallel_for_grain(int64_t total, int64_t n, int64_t grain, kiln_part_fn body, void *const *args) {
    (void)grain;
    if (total > 0) body(0, total, n, args);
}
