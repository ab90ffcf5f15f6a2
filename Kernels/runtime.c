/* The symbol table the JIT registers with TinyCC, and the prelude's text. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"
#include "kiln_vectorize.h"

#include <time.h>

#pragma clang diagnostic ignored "-Wc23-extensions"
static const char prelude[] = {
#embed "kiln_prelude.h"
    , 0};

const char *kiln_prelude_source(void) { return prelude; }

int64_t kiln_clock_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
}

void kiln_profile_add(int64_t *counter, int64_t ns) { __atomic_fetch_add(counter, ns, __ATOMIC_RELAXED); }

/* Kiln's elementary functions for the scalar code TinyCC compiles: the same functions as
   the vectorised kernels inline (kiln_math.h), so both give the same bits. Their clones for
   CPUs with FMA (KILN_CLONES) run its fused multiply-adds as instructions, not calls of fmaf. */
KILN_CLONES static float kiln_exp_export(float x) { return kiln_exp(x); }
KILN_CLONES static float kiln_log_export(float x) { return kiln_log(x); }
KILN_CLONES static float kiln_log1p_export(float x) { return kiln_log1p(x); }
KILN_CLONES static float kiln_tanh_export(float x) { return kiln_tanh(x); }
KILN_CLONES static float kiln_erf_export(float x) { return kiln_erf(x); }

#define SYMBOL(name) {#name, (const void *)&name}

static const kiln_symbol symbols[] = {
    {"kiln_exp", (const void *)&kiln_exp_export}, {"kiln_log", (const void *)&kiln_log_export},
    {"kiln_log1p", (const void *)&kiln_log1p_export}, {"kiln_tanh", (const void *)&kiln_tanh_export}, {"kiln_erf", (const void *)&kiln_erf_export}, SYMBOL(powf), SYMBOL(sqrtf),
    SYMBOL(floorf), SYMBOL(fabsf), SYMBOL(memcpy), SYMBOL(memset), SYMBOL(cblas_sgemm), SYMBOL(kiln_clock_ns), SYMBOL(kiln_profile_add),
    SYMBOL(kiln_gemm), SYMBOL(kiln_gemm_add), SYMBOL(kiln_gemm_add_row), SYMBOL(kiln_transpose), SYMBOL(kiln_slice), SYMBOL(kiln_pad), SYMBOL(kiln_prefetch),
    SYMBOL(kiln_concat_part), SYMBOL(kiln_patches), SYMBOL(kiln_gemm_windows), SYMBOL(kiln_gemm_window_rows), SYMBOL(kiln_gemm_window_pool), SYMBOL(kiln_gemm_windows_t), SYMBOL(kiln_pooled_filter_gradient), SYMBOL(kiln_gemm_fold_windows), SYMBOL(kiln_reduce_f32), SYMBOL(kiln_extremum_gradient), SYMBOL(kiln_fold_patches), SYMBOL(kiln_gather), SYMBOL(kiln_scatter_add_f32),
    SYMBOL(kiln_scatter_add_i32), SYMBOL(kiln_one_hot), SYMBOL(kiln_argmax_f32),
    SYMBOL(kiln_argmax_i32), SYMBOL(kiln_softmax), SYMBOL(kiln_parallel_for), SYMBOL(kiln_parallel_for_grain), SYMBOL(kiln_adam),
    SYMBOL(kiln_vec_neg), SYMBOL(kiln_vec_abs), SYMBOL(kiln_vec_sign), SYMBOL(kiln_vec_exp),
    SYMBOL(kiln_vec_log), SYMBOL(kiln_vec_sqrt), SYMBOL(kiln_vec_rsqrt), SYMBOL(kiln_vec_square),
    SYMBOL(kiln_vec_tanh), SYMBOL(kiln_vec_erf), SYMBOL(kiln_vec_sigmoid), SYMBOL(kiln_vec_relu),
    SYMBOL(kiln_vec_softplus), SYMBOL(kiln_vec_floor), SYMBOL(kiln_vec_add), SYMBOL(kiln_bias_relu_rows), SYMBOL(kiln_vec_sub),
    SYMBOL(kiln_vec_mul), SYMBOL(kiln_vec_div), SYMBOL(kiln_vec_pow), SYMBOL(kiln_vec_maximum),
    SYMBOL(kiln_vec_minimum), SYMBOL(kiln_vec_equal), SYMBOL(kiln_vec_not_equal),
    SYMBOL(kiln_vec_less), SYMBOL(kiln_vec_less_equal), SYMBOL(kiln_vec_greater),
    SYMBOL(kiln_vec_greater_equal), SYMBOL(kiln_vec_select), SYMBOL(kiln_vec_bool_to_f32),
    SYMBOL(kiln_vec_f32_to_bool), SYMBOL(kiln_vec_sum_rows), SYMBOL(kiln_vec_max_rows), SYMBOL(kiln_vec_random_uniform), SYMBOL(kiln_fill_f32), SYMBOL(kiln_vec_min_rows), SYMBOL(kiln_vec_repeat_rows),
    SYMBOL(kiln_vec_tile), SYMBOL(kiln_vec_gather_rows), SYMBOL(kiln_vec_add_rows), SYMBOL(kiln_vec_sum_groups), SYMBOL(kiln_vec_sum_columns), SYMBOL(kiln_sum_columns),
};

const kiln_symbol *kiln_runtime_symbols(size_t *count) {
    *count = sizeof symbols / sizeof symbols[0];
    return symbols;
}
