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

#if defined(__x86_64__)
#include <immintrin.h>
#endif

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
__attribute__((target("avx512f"))) static void adam_avx512(const adam_job *job, int64_t begin, int64_t end) {
    __m512 c1 = _mm512_set1_ps(job->c1), c2 = _mm512_set1_ps(job->c2);
    __m512 alpha = _mm512_set1_ps(job->alpha), eps = _mm512_set1_ps(job->eps);
    int64_t j = begin;
    for (; j + 16 <= end; j += 16) {
        __m512 g = _mm512_loadu_ps(job->g + j), m = _mm512_loadu_ps(job->m + j), v = _mm512_loadu_ps(job->v + j);
        __m512 mn = _mm512_add_ps(m, _mm512_mul_ps(_mm512_sub_ps(g, m), c1));
        __m512 vn = _mm512_add_ps(v, _mm512_mul_ps(_mm512_sub_ps(_mm512_mul_ps(g, g), v), c2));
        __m512 step = _mm512_div_ps(_mm512_mul_ps(mn, alpha), _mm512_add_ps(_mm512_sqrt_ps(vn), eps));
        __m512 wn = _mm512_sub_ps(_mm512_loadu_ps(job->w + j), step);
        _mm512_storeu_ps(job->m_out + j, mn);
        _mm512_storeu_ps(job->v_out + j, vn);
        _mm512_storeu_ps(job->w_out + j, wn);
    }
    adam_scalar(job, j, end);
}
#endif

static void adam_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    const adam_job *job = args[0];
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) {
        adam_avx512(job, begin, end);
        return;
    }
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
