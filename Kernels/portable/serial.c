/* The portable halves of the runtime, for C exported from a model (kiln export): a matrix
   product in plain C99 that an optimizing compiler vectorizes, and the parallel loops run
   on the calling thread. The exporter splices this file, with the portable parts of the
   other kernel files (KILN_PORTABLE defined), into the exported C; it is not part of the
   library, which runs products through oneDNN or OpenBLAS on every core. */
#include "kiln_prelude.h"

/* c[m,n] = op(a) x op(b), row-major: a is [m,k] ([k,m] when trans_a), b is [k,n] ([n,k]
   when trans_b). Without trans_b, each row of c is computed sixteen columns at a time, their
   sums kept in sixteen variables (registers) while p runs over the rows of b: sixteen
   independent statements, which optimizing compilers turn into vector instructions even at
   -O2; with trans_b, each element is a dot product of two contiguous rows. */
void kiln_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
               const float *restrict a, const float *restrict b, float *restrict c) {
    const int64_t row_step = trans_a ? 1 : k, step = trans_a ? m : 1;
    for (int64_t i = 0; i < m; i++) {
        const float *restrict left = a + i * row_step;
        float *restrict row = c + i * n;
        if (trans_b) {
            for (int64_t j = 0; j < n; j++) {
                const float *restrict column = b + j * k;
                float total = 0.0f;
                for (int64_t p = 0; p < k; p++) total += left[p * step] * column[p];
                row[j] = total;
            }
            continue;
        }
        int64_t j = 0;
        for (; j + 16 <= n; j += 16) {
            float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
            float s8 = 0, s9 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0, s14 = 0, s15 = 0;
            for (int64_t p = 0; p < k; p++) {
                const float v = left[p * step];
                const float *restrict f = b + p * n + j;
                s0 += v * f[0]; s1 += v * f[1]; s2 += v * f[2]; s3 += v * f[3];
                s4 += v * f[4]; s5 += v * f[5]; s6 += v * f[6]; s7 += v * f[7];
                s8 += v * f[8]; s9 += v * f[9]; s10 += v * f[10]; s11 += v * f[11];
                s12 += v * f[12]; s13 += v * f[13]; s14 += v * f[14]; s15 += v * f[15];
            }
            row[j] = s0; row[j + 1] = s1; row[j + 2] = s2; row[j + 3] = s3;
            row[j + 4] = s4; row[j + 5] = s5; row[j + 6] = s6; row[j + 7] = s7;
            row[j + 8] = s8; row[j + 9] = s9; row[j + 10] = s10; row[j + 11] = s11;
            row[j + 12] = s12; row[j + 13] = s13; row[j + 14] = s14; row[j + 15] = s15;
        }
        for (; j < n; j++) {
            float total = 0.0f;
            for (int64_t p = 0; p < k; p++) total += left[p * step] * b[p * n + j];
            row[j] = total;
        }
    }
}

/* The parallel loops of generated code, on the calling thread: the whole range in one part. */
void kiln_parallel_for(int64_t total, int64_t n, kiln_part_fn body, void *const *args) {
    if (total > 0) body(0, total, n, args);
}

void kiln_parallel_for_grain(int64_t total, int64_t n, int64_t grain, kiln_part_fn body, void *const *args) {
    (void)grain;
    if (total > 0) body(0, total, n, args);
}
