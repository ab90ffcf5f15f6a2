/* The vector operations of kernels written once for two instruction sets: AVX-512 (16
   lanes, 32 registers) and AVX2 with FMA (8 lanes, 16 registers). A kernel is a macro over
   ISA (avx512 or avx2) that names its types and operations as vec_##ISA, fma_##ISA, ...,
   compiled for that set by KILN_TARGET_##ISA and called only on CPUs that have it. The
   operations are the same on both, one lane at a time, so a kernel that does the same
   operations in the same order gives the same bits on either. */
#ifndef KILN_SIMD_H
#define KILN_SIMD_H
#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

#define KILN_TARGET_avx512 __attribute__((target("avx512f")))
#define KILN_TARGET_avx2 __attribute__((target("avx2,fma")))
#define KILN_LANES_avx512 16
#define KILN_LANES_avx2 8
/* A helper whose arguments are constants where it is called (an operation, a count of
   registers), inlined even when the compiler would rather merge its copies into one that
   tests them on every step. */
#define KILN_ALWAYS_INLINE __attribute__((always_inline))
typedef __m512 vec_avx512;
typedef __mmask16 mask_avx512;
typedef __m256 vec_avx2;
typedef __m256i mask_avx2;

/* The operations both sets name alike (_mm512_add_ps, _mm256_add_ps, ...), MM being the
   intrinsics' prefix. */
#define KILN_COMMON_OPS(ISA, MM)                                                                   \
    KILN_TARGET_##ISA static inline vec_##ISA zero_##ISA(void) { return MM##_setzero_ps(); }       \
    KILN_TARGET_##ISA static inline vec_##ISA set1_##ISA(float x) { return MM##_set1_ps(x); }      \
    KILN_TARGET_##ISA static inline vec_##ISA fma_##ISA(vec_##ISA x, vec_##ISA y, vec_##ISA z) {   \
        return MM##_fmadd_ps(x, y, z);                                                             \
    }                                                                                              \
    KILN_TARGET_##ISA static inline vec_##ISA add_##ISA(vec_##ISA x, vec_##ISA y) { return MM##_add_ps(x, y); } \
    KILN_TARGET_##ISA static inline vec_##ISA sub_##ISA(vec_##ISA x, vec_##ISA y) { return MM##_sub_ps(x, y); } \
    KILN_TARGET_##ISA static inline vec_##ISA mul_##ISA(vec_##ISA x, vec_##ISA y) { return MM##_mul_ps(x, y); } \
    KILN_TARGET_##ISA static inline vec_##ISA div_##ISA(vec_##ISA x, vec_##ISA y) { return MM##_div_ps(x, y); } \
    KILN_TARGET_##ISA static inline vec_##ISA sqrt_##ISA(vec_##ISA x) { return MM##_sqrt_ps(x); }  \
    KILN_TARGET_##ISA static inline vec_##ISA load_##ISA(const float *p) { return MM##_loadu_ps(p); } \
    KILN_TARGET_##ISA static inline void store_##ISA(float *p, vec_##ISA x) { MM##_storeu_ps(p, x); }
KILN_COMMON_OPS(avx512, _mm512)
KILN_COMMON_OPS(avx2, _mm256)

KILN_TARGET_avx512 static inline __m512 loadm_avx512(const float *p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
KILN_TARGET_avx512 static inline void storem_avx512(float *p, __mmask16 m, __m512 x) { _mm512_mask_storeu_ps(p, m, x); }
KILN_TARGET_avx512 static inline __m512 min_avx512(__m512 x, __m512 y) { return _mm512_min_ps(x, y); }
KILN_TARGET_avx512 static inline __m512 max_avx512(__m512 x, __m512 y) { return _mm512_max_ps(x, y); }
KILN_TARGET_avx512 static inline __m512 floor_avx512(__m512 x) {
    return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
}
KILN_TARGET_avx512 static inline __m512 abs_avx512(__m512 x) {
    return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(x), _mm512_set1_epi32(0x7fffffff)));
}
/* x with its sign bit set: -|x|, a NaN's sign included. */
KILN_TARGET_avx512 static inline __m512 negabs_avx512(__m512 x) {
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(x), _mm512_set1_epi32(INT32_MIN)));
}
/* p · 2^n for integral n in [-150, 128], rounded once. */
KILN_TARGET_avx512 static inline __m512 scale_avx512(__m512 p, __m512 n) { return _mm512_scalef_ps(p, n); }
KILN_TARGET_avx512 static inline __mmask16 gt_avx512(__m512 x, __m512 y) { return _mm512_cmp_ps_mask(x, y, _CMP_GT_OQ); }
KILN_TARGET_avx512 static inline __mmask16 lt_avx512(__m512 x, __m512 y) { return _mm512_cmp_ps_mask(x, y, _CMP_LT_OQ); }
KILN_TARGET_avx512 static inline __mmask16 ge_avx512(__m512 x, __m512 y) { return _mm512_cmp_ps_mask(x, y, _CMP_GE_OQ); }
KILN_TARGET_avx512 static inline __mmask16 eq_avx512(__m512 x, __m512 y) { return _mm512_cmp_ps_mask(x, y, _CMP_EQ_OQ); }
KILN_TARGET_avx512 static inline __mmask16 nan_avx512(__m512 x) { return _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q); }
static inline __mmask16 either_avx512(__mmask16 c, __mmask16 d) { return c | d; }
/* yes where the condition holds, no elsewhere. */
KILN_TARGET_avx512 static inline __m512 blend_avx512(__mmask16 c, __m512 yes, __m512 no) {
    return _mm512_mask_mov_ps(no, c, yes);
}
static inline __mmask16 lanes_avx512(int64_t count) { return (__mmask16)((1u << count) - 1); }
/* flags[j] = 1 where the condition holds in lane j, else 0, for the first count lanes. */
KILN_TARGET_avx512 static inline void store_flags_avx512(uint8_t *flags, __mmask16 c, int64_t count) {
    __m512i ones = _mm512_maskz_set1_epi32(c, 1);
    if (count == 16) {
        _mm_storeu_si128((__m128i *)(void *)flags, _mm512_cvtepi32_epi8(ones));
        return;
    }
    _mm512_mask_cvtepi32_storeu_epi8(flags, lanes_avx512(count), ones);
}

/* avx512x2: two AVX-512 registers at once, each operation applied to both, so a kernel
   written over ISA runs two independent chains of its operations side by side: the core
   starts the second while the first waits on latency. Each lane gets the operations of the
   one-register kernel, in the same order, so the same bits. */
#define KILN_TARGET_avx512x2 KILN_TARGET_avx512
#define KILN_LANES_avx512x2 32
typedef struct { __m512 lo, hi; } vec_avx512x2;
typedef struct { __mmask16 lo, hi; } mask_avx512x2;
#define KILN_PAIR_OP1(name)                                                                        \
    KILN_TARGET_avx512 static inline vec_avx512x2 name##_avx512x2(vec_avx512x2 x) {                \
        return (vec_avx512x2){name##_avx512(x.lo), name##_avx512(x.hi)};                           \
    }
#define KILN_PAIR_OP2(name)                                                                        \
    KILN_TARGET_avx512 static inline vec_avx512x2 name##_avx512x2(vec_avx512x2 x, vec_avx512x2 y) { \
        return (vec_avx512x2){name##_avx512(x.lo, y.lo), name##_avx512(x.hi, y.hi)};               \
    }
#define KILN_PAIR_COMPARE(name)                                                                    \
    KILN_TARGET_avx512 static inline mask_avx512x2 name##_avx512x2(vec_avx512x2 x, vec_avx512x2 y) { \
        return (mask_avx512x2){name##_avx512(x.lo, y.lo), name##_avx512(x.hi, y.hi)};              \
    }
KILN_PAIR_OP1(floor) KILN_PAIR_OP1(abs) KILN_PAIR_OP1(negabs)
KILN_PAIR_OP2(add) KILN_PAIR_OP2(sub) KILN_PAIR_OP2(mul) KILN_PAIR_OP2(div) KILN_PAIR_OP2(min) KILN_PAIR_OP2(max)
KILN_PAIR_OP2(scale)
KILN_TARGET_avx512 static inline vec_avx512x2 fma_avx512x2(vec_avx512x2 x, vec_avx512x2 y, vec_avx512x2 z) {
    return (vec_avx512x2){fma_avx512(x.lo, y.lo, z.lo), fma_avx512(x.hi, y.hi, z.hi)};
}
KILN_PAIR_COMPARE(gt) KILN_PAIR_COMPARE(lt) KILN_PAIR_COMPARE(ge) KILN_PAIR_COMPARE(eq)
KILN_TARGET_avx512 static inline vec_avx512x2 zero_avx512x2(void) { return (vec_avx512x2){zero_avx512(), zero_avx512()}; }
KILN_TARGET_avx512 static inline vec_avx512x2 set1_avx512x2(float x) { return (vec_avx512x2){set1_avx512(x), set1_avx512(x)}; }
KILN_TARGET_avx512 static inline mask_avx512x2 nan_avx512x2(vec_avx512x2 x) {
    return (mask_avx512x2){nan_avx512(x.lo), nan_avx512(x.hi)};
}
KILN_TARGET_avx512 static inline vec_avx512x2 blend_avx512x2(mask_avx512x2 c, vec_avx512x2 yes, vec_avx512x2 no) {
    return (vec_avx512x2){blend_avx512(c.lo, yes.lo, no.lo), blend_avx512(c.hi, yes.hi, no.hi)};
}
/* Whether every lane of both registers lies in [lo, hi]: 0 if any is outside or NaN. */
KILN_TARGET_avx512 static inline int within_avx512x2(vec_avx512x2 x, float lo, float hi) {
    __m512 l = _mm512_set1_ps(lo), h = _mm512_set1_ps(hi);
    __mmask16 k = _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(x.lo, l, _CMP_GE_OQ), x.lo, h, _CMP_LE_OQ);
    k &= _mm512_mask_cmp_ps_mask(_mm512_cmp_ps_mask(x.hi, l, _CMP_GE_OQ), x.hi, h, _CMP_LE_OQ);
    return k == 0xffff;
}
KILN_TARGET_avx512 static inline vec_avx512x2 load_avx512x2(const float *p) {
    return (vec_avx512x2){load_avx512(p), load_avx512(p + 16)};
}
KILN_TARGET_avx512 static inline void store_avx512x2(float *p, vec_avx512x2 x) {
    store_avx512(p, x.lo);
    store_avx512(p + 16, x.hi);
}

KILN_TARGET_avx2 static inline __m256 loadm_avx2(const float *p, __m256i m) { return _mm256_maskload_ps(p, m); }
KILN_TARGET_avx2 static inline void storem_avx2(float *p, __m256i m, __m256 x) { _mm256_maskstore_ps(p, m, x); }
KILN_TARGET_avx2 static inline __m256i lanes_avx2(int64_t count) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)count), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/* Comparisons as lanes of all ones (true) or zeros. */
KILN_TARGET_avx2 static inline __m256i gt_avx2(__m256 x, __m256 y) { return _mm256_castps_si256(_mm256_cmp_ps(x, y, _CMP_GT_OQ)); }
KILN_TARGET_avx2 static inline __m256i lt_avx2(__m256 x, __m256 y) { return _mm256_castps_si256(_mm256_cmp_ps(x, y, _CMP_LT_OQ)); }
KILN_TARGET_avx2 static inline __m256i nan_avx2(__m256 x) { return _mm256_castps_si256(_mm256_cmp_ps(x, x, _CMP_UNORD_Q)); }
KILN_TARGET_avx2 static inline __m256i either_avx2(__m256i c, __m256i d) {
    return _mm256_castps_si256(_mm256_or_ps(_mm256_castsi256_ps(c), _mm256_castsi256_ps(d)));
}
/* yes where the condition holds, no elsewhere. */
KILN_TARGET_avx2 static inline __m256 blend_avx2(__m256i c, __m256 yes, __m256 no) {
    return _mm256_blendv_ps(no, yes, _mm256_castsi256_ps(c));
}
/* flags[j] = 1 where the condition holds in lane j, else 0, for the first count lanes. */
KILN_TARGET_avx2 static inline void store_flags_avx2(uint8_t *flags, __m256i c, int64_t count) {
    __m256i ones = _mm256_srli_epi32(c, 31);
    __m128i words = _mm_packus_epi32(_mm256_castsi256_si128(ones), _mm256_extracti128_si256(ones, 1));
    __m128i bytes = _mm_packus_epi16(words, words);
    if (count == 8) {
        _mm_storel_epi64((__m128i *)(void *)flags, bytes);
        return;
    }
    uint8_t all[16];
    _mm_storeu_si128((__m128i *)(void *)all, bytes);
    for (int64_t j = 0; j < count; j++) flags[j] = all[j];
}

/* A register at p whole, or only the lanes of `rest` (the last few of a row): where `whole` is
   a constant, one plain or one masked load or store. */
#define KILN_PART_OPS(ISA)                                                                         \
    KILN_TARGET_##ISA static inline vec_##ISA load_part_##ISA(const float *p, int whole, mask_##ISA rest) { \
        return whole ? load_##ISA(p) : loadm_##ISA(p, rest);                                       \
    }                                                                                              \
    KILN_TARGET_##ISA static inline void store_part_##ISA(float *p, int whole, mask_##ISA rest, vec_##ISA x) { \
        if (whole) {                                                                               \
            store_##ISA(p, x);                                                                     \
        } else {                                                                                   \
            storem_##ISA(p, rest, x);                                                              \
        }                                                                                          \
    }
KILN_PART_OPS(avx512)
KILN_PART_OPS(avx2)

/* Runs name##_avx512 (level 2) or name##_avx2 (level 1) on the arguments and is 1, or is 0 at
   level 0, where the caller runs its plain C: the one place a kiln_cpu_simd_level() picks a
   kernel's variant. */
#define KILN_SIMD_CALL(level, name, ...)                                                          \
    ((level) == 2 ? (name##_avx512(__VA_ARGS__), 1) : (level) == 1 ? (name##_avx2(__VA_ARGS__), 1) : 0)
#endif
#endif
