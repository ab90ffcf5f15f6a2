/* Runs of 4-byte elements copied between two strided places, shared by the kernels that move
   rows (windows.c, layout.c): `count` runs of `run` elements, run r from from + r*from_step to
   to + r*to_step (steps in elements). The bits are copied as they are (any 4-byte type).

   A window row of a few-channel image is short (3 floats for a 3x3 window of a grey image),
   and a gate of a recurrent layer's step a run of its units (64 floats of 256 in each of a
   batch's rows): a call to memcpy per run, or a loop the compiler vectorises for long runs,
   costs more than the copy. With AVX-512 a run goes 16 elements at a time, its last part one
   masked load and store: the four slices of [32, 256] floats into [32, 64] take 0.9-1.2 us
   together on a Xeon (Cascade Lake), against 1.4-1.7 us with a memcpy per run. Runs longer than
   KILN_COPY_VECTOR_RUN are left to memcpy. AVX2's masked store is slower than memcpy on a
   Zen 3 (1.41 ms against 0.61-0.80 ms for the windows of 128 grey 28×28 images); there, runs
   of up to 8 elements are copied by a loop of that many moves, written out for each length.
   The `#include` of this file is dropped from exported C, which has its text once. */
#ifndef KILN_COPY_H
#define KILN_COPY_H

#define KILN_COPY_VECTOR_RUN 256

#if defined(__x86_64__) && !defined(KILN_PORTABLE)
#include <immintrin.h>

__attribute__((target("avx512f"))) static void copy_runs_avx512(int64_t count, int64_t run, const uint32_t *from,
                                                                int64_t from_step, uint32_t *to, int64_t to_step) {
    int64_t whole = run & ~(int64_t)15;
    __mmask16 mask = (__mmask16)((1u << (run - whole)) - 1);
    for (int64_t r = 0; r < count; r++, from += from_step, to += to_step) {
        for (int64_t k = 0; k < whole; k += 16) _mm512_storeu_si512(to + k, _mm512_loadu_si512(from + k));
        if (mask) _mm512_mask_storeu_epi32(to + whole, mask, _mm512_maskz_loadu_epi32(mask, from + whole));
    }
}
#endif

static inline void copy_runs(int64_t count, int64_t run, const void *source, int64_t from_step, void *target,
                             int64_t to_step) {
    const uint32_t *from = source;
    uint32_t *to = target;
    if (count <= 0 || run <= 0) return;
#if defined(__x86_64__) && !defined(KILN_PORTABLE)
    if (run <= KILN_COPY_VECTOR_RUN && kiln_cpu_simd_level() == 2) {
        copy_runs_avx512(count, run, from, from_step, to, to_step);
        return;
    }
#endif
    switch (run) {
#define KILN_COPY_RUNS(length)                                                                  \
    case length:                                                                                \
        for (int64_t r = 0; r < count; r++, from += from_step, to += to_step) {                 \
            for (int k = 0; k < length; k++) to[k] = from[k];                                   \
        }                                                                                       \
        return;
        KILN_COPY_RUNS(1) KILN_COPY_RUNS(2) KILN_COPY_RUNS(3) KILN_COPY_RUNS(4)
        KILN_COPY_RUNS(5) KILN_COPY_RUNS(6) KILN_COPY_RUNS(7) KILN_COPY_RUNS(8)
#undef KILN_COPY_RUNS
    default:
        for (int64_t r = 0; r < count; r++, from += from_step, to += to_step) {
            memcpy(to, from, (size_t)run * sizeof(uint32_t));
        }
    }
}

#endif
