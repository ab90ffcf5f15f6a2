/* kiln_adam: Adam's update of one weight in one pass, the loop Kiln's Adam optimizer
   becomes (CRenderer+Update.swift recognises its twelve ops):

       m' = m + (g - m) c1        v' = v + (g g - v) c2        w' = w - (m' alpha) / (sqrt(v') + eps)

   Each element is computed with the very operations of the twelve block primitives, in the
   same order and without fused multiply-adds, so the result has their bits; reading g, m, v
   and w once and writing m', v' and w' once (in place or not) instead of making twelve passes
   over a block. Large weights are updated in parts on every core. */
#include "kiln_prelude.h"

#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#include "include/KilnKernels.h"
#include "kiln_simd.h"

/* Weights of at least this many elements are updated in parts on every core, as the
   compiler splits other update loops (CRenderer.minimumParallelLength). */
#define KILN_PARALLEL_UPDATE 65536

typedef struct {
    const float *g, *m, *v, *w;
    float c1, c2, alpha, eps;
    float *m_out, *v_out, *w_out;
} adam_job;

static void adam_scalar(const adam_job *job, int64_t begin, int64_t end) {
    for (int64_t j = begin; j < end; j++) {
        float g = job->g[j], m = job->m[j], v = job->v[j];
        float mn = m + (g - m) * job->c1;
        float vn = v + (g * g - v) * job->c2;
        float wn = job->w[j] - (mn * job->alpha) / (sqrtf(vn) + job->eps);
        job->m_out[j] = mn;
        job->v_out[j] = vn;
        job->w_out[j] = wn;
    }
}

#if defined(__x86_64__)
/* The same operations a vector at a time, then the last few elements alone. */
#define ADAM_VECTORS(ISA)                                                                         \
    KILN_TARGET_##ISA static void adam_##ISA(const adam_job *job, int64_t begin, int64_t end) {  \
        const int64_t lanes = KILN_LANES_##ISA;                                                   \
        vec_##ISA c1 = set1_##ISA(job->c1), c2 = set1_##ISA(job->c2);                             \
        vec_##ISA alpha = set1_##ISA(job->alpha), eps = set1_##ISA(job->eps);                     \
        int64_t j = begin;                                                                        \
        for (; j + lanes <= end; j += lanes) {                                                    \
            vec_##ISA g = load_##ISA(job->g + j), m = load_##ISA(job->m + j), v = load_##ISA(job->v + j); \
            vec_##ISA mn = add_##ISA(m, mul_##ISA(sub_##ISA(g, m), c1));                          \
            vec_##ISA vn = add_##ISA(v, mul_##ISA(sub_##ISA(mul_##ISA(g, g), v), c2));            \
            vec_##ISA step = div_##ISA(mul_##ISA(mn, alpha), add_##ISA(sqrt_##ISA(vn), eps));     \
            vec_##ISA wn = sub_##ISA(load_##ISA(job->w + j), step);                               \
            store_##ISA(job->m_out + j, mn);                                                      \
            store_##ISA(job->v_out + j, vn);                                                      \
            store_##ISA(job->w_out + j, wn);                                                      \
        }                                                                                         \
        adam_scalar(job, j, end);                                                                 \
    }
ADAM_VECTORS(avx512)
ADAM_VECTORS(avx2)
#endif

static void adam_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    const adam_job *job = args[0];
#if defined(__x86_64__)
    if (KILN_SIMD_CALL(kiln_cpu_simd_level(), adam, job, begin, end)) return;
#endif
    adam_scalar(job, begin, end);
}

void kiln_adam(int64_t count, const float *g, const float *m, const float *v, const float *w, const float *c1,
               const float *c2, const float *alpha, const float *eps, float *m_out, float *v_out, float *w_out) {
    adam_job job = {g, m, v, w, *c1, *c2, *alpha, *eps, m_out, v_out, w_out};
    void *args[1] = {&job};
    if (count >= KILN_PARALLEL_UPDATE) {
        kiln_parallel_for(count, 0, adam_part, args);
    } else {
        adam_part(0, count, 0, args);
    }
}
