/* OpenBLAS, loaded at run time so that its core type can be chosen before it initialises. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int,
                         float, float *, int);
typedef void (*sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef char *(*corename_fn)(void);

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;
static sgemm_fn blas_sgemm;
static sgemv_fn blas_sgemv;
static corename_fn blas_corename;
static char blas_error[512];

static int has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512cd");
#else
    return 0;
#endif
}

static void blas_load(void) {
    /* Debian's OpenBLAS 0.3.21 does not recognise recent AMD cores and would use its AVX2
       kernels; it reads OPENBLAS_CORETYPE once, when the library initialises. */
    if (has_avx512() && getenv("OPENBLAS_CORETYPE") == NULL) setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
    const char *names[] = {"libopenblas.so.0", "libopenblas.so"};
    void *handle = NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0] && handle == NULL; i++) {
        handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    }
    if (handle == NULL) {
        snprintf(blas_error, sizeof blas_error, "cannot load OpenBLAS (libopenblas.so.0): %s", dlerror());
        return;
    }
    blas_sgemm = (sgemm_fn)dlsym(handle, "cblas_sgemm");
    blas_sgemv = (sgemv_fn)dlsym(handle, "cblas_sgemv");
    blas_corename = (corename_fn)dlsym(handle, "openblas_get_corename");
    if (blas_sgemm == NULL || blas_sgemv == NULL) {
        snprintf(blas_error, sizeof blas_error, "OpenBLAS has no cblas_sgemm or cblas_sgemv: %s", dlerror());
        blas_sgemm = NULL;
    }
}

const char *kiln_blas_load(void) {
    pthread_once(&blas_once, blas_load);
    return blas_sgemm != NULL ? NULL : blas_error;
}

const char *kiln_blas_core_name(void) {
    if (kiln_blas_load() != NULL || blas_corename == NULL) return "unknown";
    return blas_corename();
}

void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    blas_sgemm(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void kiln_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
               const float *a, const float *b, float *c) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        memset(c, 0, (size_t)(m * n) * sizeof(float));
        return;
    }
    if (m == 1 && n > 1) {
        /* One row (a single-sample forward pass): c = op(b)^T a as a matrix-vector product,
           which OpenBLAS runs without packing the matrix. a is a contiguous vector either way. */
        if (trans_b) {
            blas_sgemv(101, 111, (int)n, (int)k, 1.0f, b, (int)k, a, 1, 0.0f, c, 1);
        } else {
            blas_sgemv(101, 112, (int)k, (int)n, 1.0f, b, (int)n, a, 1, 0.0f, c, 1);
        }
        return;
    }
    int lda = (int)(trans_a ? m : k), ldb = (int)(trans_b ? k : n);
    blas_sgemm(101, trans_a ? 112 : 111, trans_b ? 112 : 111, (int)m, (int)n, (int)k, 1.0f,
               a, lda, b, ldb, 0.0f, c, (int)n);
}
