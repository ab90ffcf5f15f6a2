/* The machine's peaks, measured: single-precision fused multiply-adds from registers, as fast
   as the cores issue them (12 independent chains, so latency never stalls them), on one thread
   per core at once; and reading memory that stays in the cores' caches. Benchmarks state their
   GFLOP/s as a fraction of the first, and the least time a pass over a model's weights can
   take from the second. */
#include "include/KilnKernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include "kiln_simd.h"

/* 12 chains: enough to cover an FMA's latency on two pipes (4 cycles x 2), and few enough that
   they and the two operands stay in AVX2's 16 registers (16 chains spilled to memory there). */
#define CHAINS(type, zero, fma)                                                                   \
    type a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;  \
    type a8 = zero, a9 = zero, a10 = zero, a11 = zero;                                            \
    for (int64_t i = 0; i < rounds; i++) {                                                        \
        a0 = fma(a0, x, y); a1 = fma(a1, x, y); a2 = fma(a2, x, y); a3 = fma(a3, x, y);           \
        a4 = fma(a4, x, y); a5 = fma(a5, x, y); a6 = fma(a6, x, y); a7 = fma(a7, x, y);           \
        a8 = fma(a8, x, y); a9 = fma(a9, x, y); a10 = fma(a10, x, y); a11 = fma(a11, x, y);       \
    }

/* The sum of a vector's lanes. */
#define PEAK_LANE_SUM(ISA)                                                                         \
    KILN_TARGET_##ISA static float lane_sum_##ISA(vec_##ISA s) {                                   \
        float out[KILN_LANES_##ISA], total = 0.0f;                                                 \
        store_##ISA(out, s);                                                                       \
        for (int l = 0; l < KILN_LANES_##ISA; l++) total += out[l];                                \
        return total;                                                                              \
    }

/* `rounds` rounds of the chains; returns their sum, so nothing is optimised away. */
#define PEAK_FMA(ISA)                                                                              \
    KILN_TARGET_##ISA static float peak_fma_##ISA(int64_t rounds) {                                \
        vec_##ISA x = set1_##ISA(0.999999f), y = set1_##ISA(1e-7f);                                \
        CHAINS(vec_##ISA, zero_##ISA(), fma_##ISA)                                                 \
        vec_##ISA s = add_##ISA(add_##ISA(add_##ISA(a0, a1), add_##ISA(a2, a3)),                   \
                                add_##ISA(add_##ISA(a4, a5), add_##ISA(a6, a7)));                  \
        s = add_##ISA(s, add_##ISA(add_##ISA(a8, a9), add_##ISA(a10, a11)));                       \
        return lane_sum_##ISA(s);                                                                  \
    }
PEAK_LANE_SUM(avx512) PEAK_LANE_SUM(avx2)
PEAK_FMA(avx512) PEAK_FMA(avx2)
#endif

/* Runs `rounds` rounds of 12 FMAs on the widest vectors; returns the FLOPs done (and a sum,
   so nothing is optimised away). */
static double fma_rounds(int64_t rounds, float *sink) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) {
        *sink = peak_fma_avx512(rounds);
        return (double)rounds * 12 * 16 * 2;
    }
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        *sink = peak_fma_avx2(rounds);
        return (double)rounds * 12 * 8 * 2;
    }
#endif
    float a = 0.0f;
    for (int64_t i = 0; i < rounds * 12; i++) a = a * 0.999999f + 1e-7f;
    *sink = a;
    return (double)rounds * 12 * 2;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The threads a measurement runs on: every core when `threads` < 1, at most 256. */
static int thread_count(int threads) {
    if (threads < 1) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cores > 0 ? (int)cores : 1;
    }
    return threads > 256 ? 256 : threads;
}

/* Runs `body` on `count` jobs at once, each `size` bytes and starting with the `double` seconds
   `body` records; jobs[0] runs on the calling thread, and a job whose thread cannot start is
   skipped (its `ran` stays 0). Returns the slowest job's seconds. */
static double run_jobs(int count, void *(*body)(void *), void *jobs, size_t size, int *ran) {
    pthread_t ids[256];
    for (int t = 1; t < count; t++) ran[t] = pthread_create(&ids[t], NULL, body, (char *)jobs + size * t) == 0;
    body(jobs);
    ran[0] = 1;
    double slowest = *(double *)jobs;
    for (int t = 1; t < count; t++) {
        if (!ran[t]) continue;
        pthread_join(ids[t], NULL);
        double seconds = *(double *)((char *)jobs + size * t);
        if (seconds > slowest) slowest = seconds;
    }
    return slowest;
}

typedef struct {
    double seconds;
    int64_t rounds;
    double flops;
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
    threads = thread_count(threads);
    /* Calibrate the rounds to last about `seconds` on one thread. */
    float sink = 0.0f;
    int64_t rounds = 1 << 16;
    double start = now();
    fma_rounds(rounds, &sink);
    double took = now() - start;
    if (took > 0) rounds = (int64_t)((double)rounds * seconds / took) + 1;
    peak_job jobs[256];
    int ran[256];
    for (int t = 0; t < threads; t++) jobs[t] = (peak_job){0, rounds, 0, 0};
    double slowest = run_jobs(threads, peak_thread, jobs, sizeof jobs[0], ran);
    double flops = 0;
    for (int t = 0; t < threads; t++) flops += ran[t] ? jobs[t].flops : 0;
    return slowest > 0 ? flops / slowest / 1e9 : 0;
}

/* Reads `count` floats (a multiple of 128) `passes` times with wide loads into independent sums;
   returns a sum, so nothing is optimised away. */
#if defined(__x86_64__)
#define PEAK_READ(ISA)                                                                             \
    KILN_TARGET_##ISA static float read_##ISA(const float *data, int64_t count, int64_t passes) {  \
        const int lanes = KILN_LANES_##ISA;                                                        \
        vec_##ISA s[8];                                                                            \
        for (int r = 0; r < 8; r++) s[r] = zero_##ISA();                                           \
        for (int64_t p = 0; p < passes; p++) {                                                     \
            for (int64_t i = 0; i < count; i += 8 * lanes) {                                       \
                for (int r = 0; r < 8; r++) s[r] = add_##ISA(s[r], load_##ISA(data + i + lanes * r)); \
            }                                                                                      \
        }                                                                                          \
        for (int r = 1; r < 8; r++) s[0] = add_##ISA(s[0], s[r]);                                  \
        return lane_sum_##ISA(s[0]);                                                               \
    }
PEAK_READ(avx512) PEAK_READ(avx2)
#endif

static float read_passes(const float *data, int64_t count, int64_t passes) {
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx512f")) return read_avx512(data, count, passes);
    if (__builtin_cpu_supports("avx2")) return read_avx2(data, count, passes);
#endif
    float s[8] = {0};
    for (int64_t p = 0; p < passes; p++) {
        for (int64_t i = 0; i < count; i += 8) {
            for (int r = 0; r < 8; r++) s[r] += data[i + r];
        }
    }
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

typedef struct {
    double seconds;
    const float *data;
    int64_t count, passes;
    float sink;
} read_job;

static void *read_thread(void *data) {
    read_job *job = data;
    job->sink = read_passes(job->data, job->count, 1); /* into this core's cache */
    double start = now();
    job->sink += read_passes(job->data, job->count, job->passes);
    job->seconds = now() - start;
    return NULL;
}

double kiln_peak_read_gbps(int threads, int64_t bytes, double seconds) {
    threads = thread_count(threads);
    /* Each thread reads its share, rounded up to whole 512-byte rows. */
    int64_t count = (bytes / threads + 511) / 512 * 128;
    if (count < 128) count = 128;
    float *data = aligned_alloc(64, (size_t)(count * threads) * sizeof(float));
    if (data == NULL) return 0;
    for (int64_t i = 0; i < count * threads; i++) data[i] = 1.0f;
    /* Calibrate the passes to last about `seconds` on one thread. */
    int64_t passes = 16;
    double start = now();
    float sink = read_passes(data, count, passes);
    double took = now() - start;
    if (took > 0) passes = (int64_t)((double)passes * seconds / took) + 1;
    read_job jobs[256];
    int ran[256];
    for (int t = 0; t < threads; t++) jobs[t] = (read_job){0, data + count * t, count, passes, sink};
    double slowest = run_jobs(threads, read_thread, jobs, sizeof jobs[0], ran);
    free(data);
    int64_t readers = 0;
    for (int t = 0; t < threads; t++) readers += ran[t];
    double read = (double)(count * readers) * sizeof(float) * (double)passes;
    return slowest > 0 ? read / slowest / 1e9 : 0;
}
