/* The symbol table the JIT registers with TinyCC, and the prelude's text. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"

#pragma clang diagnostic ignored "-Wc23-extensions"
static const char prelude[] = {
#embed "kiln_prelude.h"
    , 0};

const char *kiln_prelude_source(void) { return prelude; }

#define SYMBOL(name) {#name, (const void *)&name}

static const kiln_symbol symbols[] = {
    SYMBOL(expf), SYMBOL(logf), SYMBOL(log1pf), SYMBOL(tanhf), SYMBOL(erff), SYMBOL(powf), SYMBOL(sqrtf),
    SYMBOL(floorf), SYMBOL(fabsf), SYMBOL(memcpy), SYMBOL(memset), SYMBOL(cblas_sgemm),
    SYMBOL(kiln_gemm), SYMBOL(kiln_transpose), SYMBOL(kiln_slice), SYMBOL(kiln_pad),
    SYMBOL(kiln_concat_part), SYMBOL(kiln_gather), SYMBOL(kiln_scatter_add_f32),
    SYMBOL(kiln_scatter_add_i32), SYMBOL(kiln_one_hot), SYMBOL(kiln_argmax_f32),
    SYMBOL(kiln_argmax_i32), SYMBOL(kiln_softmax),
};

const kiln_symbol *kiln_runtime_symbols(size_t *count) {
    *count = sizeof symbols / sizeof symbols[0];
    return symbols;
}
