/* Indexing by int32 tensors: gather, scatter_add, one_hot; and argmax. Indices are checked. */
#include "kiln_prelude.h"
#include "kiln_vectorize.h"

/* Records an index out of range: fault = {code, the index, its position, the bound}. */
static int index_fault(int64_t *fault, int32_t index, int64_t position, int64_t bound) {
    fault[0] = KILN_FAULT_INDEX;
    fault[1] = index;
    fault[2] = position;
    fault[3] = bound;
    return KILN_FAULT_INDEX;
}

static int check_indices(const int32_t *idx, int64_t count, int64_t bound, int64_t *fault) {
    for (int64_t i = 0; i < count; i++) {
        if (idx[i] < 0 || idx[i] >= bound) return index_fault(fault, idx[i], i, bound);
    }
    return KILN_OK;
}

int kiln_gather(int64_t elem_size, int64_t outer, int64_t length, int64_t inner, int64_t count,
                const void *params, const int32_t *idx, void *y, int64_t *fault) {
    if (check_indices(idx, count, length, fault)) return KILN_FAULT_INDEX;
    const char *src = params;
    char *dst = y;
    size_t row = (size_t)(inner * elem_size);
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < count; i++) {
            memcpy(dst + (o * count + i) * (int64_t)row, src + (o * length + idx[i]) * (int64_t)row, row);
        }
    }
    return KILN_OK;
}

#define SCATTER_ADD(NAME, T, PLUS)                                                                  \
    int NAME(int64_t outer, int64_t length, int64_t inner, int64_t count, const T *updates,        \
             const int32_t *idx, T *y, int64_t *fault) {                                           \
        if (check_indices(idx, count, length, fault)) return KILN_FAULT_INDEX;                      \
        memset(y, 0, (size_t)(outer * length * inner) * sizeof(T));                                 \
        const T *u = updates;                                                                       \
        for (int64_t o = 0; o < outer; o++) {                                                       \
            for (int64_t i = 0; i < count; i++) {                                                   \
                T *row = y + (o * length + idx[i]) * inner;                                         \
                for (int64_t j = 0; j < inner; j++, u++) row[j] = PLUS(row[j], *u);                 \
            }                                                                                       \
        }                                                                                           \
        return KILN_OK;                                                                             \
    }
#define PLUS_F32(a, b) ((a) + (b))
#define PLUS_I32(a, b) ((int32_t)((uint32_t)(a) + (uint32_t)(b)))
SCATTER_ADD(kiln_scatter_add_f32, float, PLUS_F32)
SCATTER_ADD(kiln_scatter_add_i32, int32_t, PLUS_I32)

int kiln_one_hot(int64_t count, int64_t depth, const int32_t *idx, float *y, int64_t *fault) {
    if (check_indices(idx, count, depth, fault)) return KILN_FAULT_INDEX;
    memset(y, 0, (size_t)(count * depth) * sizeof(float));
    for (int64_t i = 0; i < count; i++) y[i * depth + idx[i]] = 1.0f;
    return KILN_OK;
}

/* Values compare as float, as the reference does, so int32 inputs pick the same index. */
#define ARGMAX(NAME, T)                                                                             \
    int NAME(int64_t outer, int64_t length, int64_t inner, const T *x, int32_t *y, int64_t *fault) { \
        if (length == 0 && outer * inner > 0) {                                                     \
            fault[0] = KILN_FAULT_EMPTY;                                                            \
            return KILN_FAULT_EMPTY;                                                                \
        }                                                                                           \
        for (int64_t o = 0; o < outer; o++) {                                                       \
            for (int64_t i = 0; i < inner; i++) {                                                   \
                const T *base = x + o * length * inner + i;                                         \
                int32_t best = 0;                                                                   \
                float best_value = (float)base[0];                                                  \
                if (best_value == best_value) {                                                     \
                    for (int64_t k = 1; k < length; k++) {                                          \
                        float v = (float)base[k * inner];                                           \
                        if (v != v) { best = (int32_t)k; break; }                                   \
                        if (v > best_value) { best = (int32_t)k; best_value = v; }                  \
                    }                                                                               \
                }                                                                                   \
                y[o * inner + i] = best;                                                            \
            }                                                                                       \
        }                                                                                           \
        return KILN_OK;                                                                             \
    }
ARGMAX(kiln_argmax_f32, float)
ARGMAX(kiln_argmax_i32, int32_t)

/* The largest of `length` values at stride `stride`, or NaN if one is NaN (the first NaN stays). */
static float row_maximum(int64_t length, int64_t stride, const float *in) {
    float maximum = -1.0f / 0.0f;
    for (int64_t k = 0; k < length; k++) {
        float v = in[k * stride];
        if (v != v || v > maximum) maximum = v;
    }
    return maximum;
}

/* Softmax of the `length` values of x at stride `stride` into y at the same places. The
   exponentials are computed into y first (a loop that vectorises when the stride is 1),
   then summed in order, so the result has the bits of the interpreter's one-pass loop. */
KILN_CLONES static void softmax_run(int64_t length, int64_t stride, const float *in, float *out, int log_output) {
    float maximum = row_maximum(length, stride, in), total = 0.0f;
    for (int64_t k = 0; k < length; k++) out[k * stride] = kiln_exp(in[k * stride] - maximum);
    for (int64_t k = 0; k < length; k++) total += out[k * stride];
    if (log_output) {
        float log_total = kiln_log(total);
        for (int64_t k = 0; k < length; k++) out[k * stride] = (in[k * stride] - maximum) - log_total;
    } else {
        for (int64_t k = 0; k < length; k++) out[k * stride] = out[k * stride] / total;
    }
}

/* Softmax of `rows` rows of `length` values at stride 1, y possibly x itself: each row less
   its maximum into y, the exponentials of all the rows by one call of the block primitive
   (which runs 16 or 32 lanes at a time where softmax_run's loop over a row of ten classes
   runs one), then each row divided by its sum in order: softmax_run's bits. */
static void softmax_rows(int64_t rows, int64_t length, const float *x, float *y) {
    for (int64_t o = 0; o < rows; o++) {
        const float *in = x + o * length;
        float *out = y + o * length;
        float maximum = row_maximum(length, 1, in);
        for (int64_t k = 0; k < length; k++) out[k] = in[k] - maximum;
    }
    kiln_vec_exp(rows * length, y, 1, y);
    for (int64_t o = 0; o < rows; o++) {
        float *out = y + o * length, total = 0.0f;
        for (int64_t k = 0; k < length; k++) total += out[k];
        for (int64_t k = 0; k < length; k++) out[k] = out[k] / total;
    }
}

void kiln_softmax(int64_t outer, int64_t length, int64_t inner, const float *x, float *y, int log_output) {
    if (inner == 1 && !log_output && length > 0) {
        /* Rows in groups of about 4,096 values, which stay in the core's first-level cache. */
        int64_t group = length >= 4096 ? 1 : 4096 / length;
        for (int64_t o = 0; o < outer; o += group) {
            int64_t rows = outer - o < group ? outer - o : group;
            softmax_rows(rows, length, x + o * length, y + o * length);
        }
        return;
    }
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            softmax_run(length, inner, x + o * length * inner + i, y + o * length * inner + i, log_output);
        }
    }
}
