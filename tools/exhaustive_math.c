/* Checks the block primitives kiln_vec_exp, kiln_vec_sigmoid and kiln_vec_tanh (vector.c; their
   AVX-512 forms on a CPU that has it), and kiln_vec_log, kiln_vec_erf and kiln_vec_softplus (the
   compiler's vectorisation of the scalar functions, in the clone for the CPU), against the
   scalar functions of kiln_math.h, bit for bit, over all 2^32 floats: once as the library runs
   them, and once with denormals flushed to zero, as compiled programs run. MathTests checks a
   million floats on every test run; this program checks them all (about a quarter of an hour
   a mode on one core of a Zen 4). Compile it with clang, as the package is: it honours
   kiln_math.h's FP_CONTRACT OFF, which GCC ignores.

       clang -O2 -IKernels -IKernels/include tools/exhaustive_math.c Kernels/vector.c Kernels/cpu.c \
          Kernels/parallel.c Kernels/float_mode.c -lm -lpthread
       ./a.out            # both modes; ./a.out flushed or ./a.out unflushed for one
       KILN_SIMD=avx2 ./a.out   # the compiler's loops, on a CPU with AVX-512

   Prints each function's count of differing results (and the first few) and exits 1 if any. */
#include "kiln_prelude.h"

#include <stdio.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

typedef void (*primitive)(int64_t, const float *, int64_t, float *);

static float scalar_exp(float x) { return kiln_exp(x); }
static float scalar_sigmoid(float x) { return kiln_sigmoid(x); }
static float scalar_tanh(float x) { return kiln_tanh(x); }
static float scalar_log(float x) { return kiln_log(x); }
static float scalar_erf(float x) { return kiln_erf(x); }
static float scalar_softplus(float x) { return kiln_softplus(x); }

static uint64_t check(const char *name, primitive vector, float (*scalar)(float)) {
    enum { block = 4096 };
    static float in[block], out[block];
    uint64_t differ = 0;
    for (uint64_t start = 0; start < (1ull << 32); start += block) {
        for (uint32_t i = 0; i < block; i++) in[i] = kiln_bits_float((uint32_t)(start + i));
        vector(block, in, 1, out);
        for (uint32_t i = 0; i < block; i++) {
            float want = scalar(in[i]);
            if (kiln_float_bits(want) == kiln_float_bits(out[i])) continue;
            if (differ++ < 5)
                printf("  %s(%08x): block %08x, scalar %08x\n", name, kiln_float_bits(in[i]), kiln_float_bits(out[i]),
                       kiln_float_bits(want));
        }
    }
    printf("%s: %llu of 2^32 differ\n", name, (unsigned long long)differ);
    return differ;
}

static uint64_t check_all(void) {
    return check("exp", kiln_vec_exp, scalar_exp) + check("sigmoid", kiln_vec_sigmoid, scalar_sigmoid)
           + check("tanh", kiln_vec_tanh, scalar_tanh) + check("log", kiln_vec_log, scalar_log)
           + check("erf", kiln_vec_erf, scalar_erf) + check("softplus", kiln_vec_softplus, scalar_softplus);
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "both";
    uint64_t differ = 0;
    if (strcmp(mode, "flushed") != 0) {
        printf("denormals as they are:\n");
        differ += check_all();
    }
    if (strcmp(mode, "unflushed") != 0) {
#if defined(__x86_64__)
        _mm_setcsr(_mm_getcsr() | 0x8040); /* flush to zero, denormals are zero */
#endif
        printf("denormals flushed:\n");
        differ += check_all();
    }
    return differ == 0 ? 0 : 1;
}
