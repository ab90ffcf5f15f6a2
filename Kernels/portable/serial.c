/* The portable halves of the runtime, for C exported from a model (kiln export): a matrix
   product in plain C99 that an optimizing compiler vectorizes, and the parallel loops run
   on the calling thread. The exporter splices this file, with the portable parts of the
   other kernel files (KILN_PORTABLE defined), into the exported C; it is not part of the
   library, which runs products through oneDNN or OpenBLAS on every core. */
#include "kiln_prelude.h"

/* c[m,n] = op(a) x op(b), row-major: a is [m,k] ([k,m] when trans_a), b is [k,n] ([n,k]
   when trans_b). With b not transposed, each row of c is accumulated from rows of b (the
   inner loop runs along contiguous rows, which the compiler vectorizes); with b transposed,
   each element is a dot product of two contiguous rows. */
void kiln_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
               const float *restrict a, const float *restrict b, float *restrict c) {
    if (!trans_b) {
        for (int64_t i = 0; i < m; i++) {
            float *restrict row = c + i * n;
            for (int64_t j = 0; j < n; j++) row[j] = 0.0f;
            for (int64_t p = 0; p < k; p++) {
                const float value = trans_a ? a[p * m + i] : a[i * k + p];
                const float *restrict from = b + p * n;
                for (int64_t j = 0; j < n; j++) row[j] += value * from[j];
            }
        }
        return;
    }
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            const float *restrict from = b + j * k;
            float total = 0.0f;
            if (trans_a) {
                for (int64_t p = 0; p < k; p++) total += a[p * m + i] * from[p];
            } else {
                const float *restrict left = a + i * k;
                for (int64_t p = 0; p < k; p++) total += left[p] * from[p];
            }
            c[i * n + j] = total;
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
