/* The machine's peak: single-precision fused multiply-adds from registers, as fast as the
   cores issue them (16 independent chains, so latency never stalls them), on one thread per
   core at once. Benchmarks state their GFLOP/s as a fraction of this. */
#include "include/KilnKernels.h"

#include <pthread.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define CHAINS(type, zero, fma)                                                                   \
    type a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;  \
    type a8 = zero, a9 = zero, a10 = zero, a11 = zero, a12 = zero, a13 = zero, a14 = zero;        \
    type a15 = zero;                                                                              \
    for (int64_t i = 0; i < rounds; i++) {                                                        \
        a0 = fma(a0, x, y); a1 = fma(a1, x, y); a2 = fma(a2, x, y); a3 = fma(a3, x, y);           \
        a4 = fma(a4, x, y); a5 = fma(a5, x, y); a6 = fma(a6, x, y); a7 = fma(a7, x, y);           \
        a8 = fma(a8, x, y); a9 = fma(a9, x, y); a10 = fma(a10, x, y); a11 = fma(a11, x, y);       \
        a12 = fma(a12, x, y); a13 = fma(a13, x, y); a14 = fma(a14, x, y); a15 = fma(a15, x, y);   \
    }

__attribute__((target("avx512f"))) static float fma_avx512(int64_t rounds) {
    __m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);
    CHAINS(__m512, _mm512_setzero_ps(), _mm512_fmadd_ps)
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)),
                                       _mm512_add_ps(_mm512_add_ps(a12, a13), _mm512_add_ps(a14, a15))));
    return _mm512_reduce_add_ps(s);
}

__attribute__((target("avx2,fma"))) static float fma_avx2(int64_t rounds) {
    __m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);
    CHAINS(__m256, _mm256_setzero_ps(), _mm256_fmadd_ps)
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)),
                                       _mm256_add_ps(_mm256_add_ps(a12, a13), _mm256_add_ps(a14, a15))));
    float out[8];
    _mm256_storeu_ps(out, s);
    return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}
#endif

/* Runs `rounds` rounds of 16 FMAs on the widest vectors; returns the FLOPs done (and a sum,
   so nothing is optimised away). */
static double fma_rounds(int64_t rounds, float *sink) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) {
        *sink = fma_avx512(rounds);
        return (double)rounds * 16 * 16 * 2;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *sink = fma_avx2(rounds);
        return (double)rounds * 16 * 8 * 2;
    }
#endif
    float a = 0.0f;
    for (int64_t i = 0; i < rounds * 16; i++) a = a * 0.999999f + 1e-7f;
    *sink = a;
    return (double)rounds * 16 * 2;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef struct {
    int64_t rounds;
    double flops, seconds;
    float sink;
} peak_job;

static void *peak_thread(void *data) {
    peak_job *job = data;
    double start = now();
    job->flops = fma_rounds(job->rounds, &job->sink);
    job->seconds = now() - start;
    return NULL;
}

double kiln_peak_gflops(int threads, double seconds) {
    if (threads < 1) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (int)cores : 1;
    }
    if (threads > 256) threads = 256;
    /* Calibrate the rounds to last about `seconds` on one thread. */
    float sink = 0.0f;
    int64_t rounds = 1 << 16;
    double start = now();
    fma_rounds(rounds, &sink);
    double took = now() - start;
    if (took > 0) rounds = (int64_t)((double)rounds * seconds / took) + 1;
    peak_job jobs[256];
    pthread_t ids[256];
    int started = 0;
    for (int t = 0; t < threads; t++) {
        jobs[t] = (peak_job){rounds, 0, 0, 0};
        if (t > 0 && pthread_create(&ids[t], NULL, peak_thread, &jobs[t]) == 0) started = t;
    }
    peak_thread(&jobs[0]);
    double flops = jobs[0].flops, slowest = jobs[0].seconds;
    for (int t = 1; t <= started; t++) {
        pthread_join(ids[t], NULL);
        flops += jobs[t].flops;
        if (jobs[t].seconds > slowest) slowest = jobs[t].seconds;
    }
    return slowest > 0 ? flops / slowest / 1e9 : 0;
}
