/* kiln_reduce_f32: a sum, maximum or minimum over some axes of a tensor, as one call. A
   generated loop nest would call a block primitive for every run of the innermost kept axis,
   which is short for the reductions of pooling (a 2×2 max over 32 channels: 32 floats a call)
   and costs more in calls than in work.

   Neighbouring axes of the same kind are merged first. When the innermost axis is kept, each
   run of outputs is computed once: its inputs (a pooling window's cells, at offsets listed
   once per call) are folded into a vector of 8 or 16 lanes held in a register, so nothing is
   stored and read back between them. Otherwise (or with more than 256 positions to fold) the input is walked
   in its order, one run at a time.

   Each output starts at the operation's identity and takes its inputs in the tensor's
   row-major order with the generated loops' rule (the sum adds in order; the maximum keeps
   the first NaN and, on ties, the value it has), so the bits are those of the loop nest. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"

#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif

#define KILN_REDUCE_MAX_RANK 16
#define KILN_REDUCE_WINDOW 256

enum { REDUCE_SUM = 0, REDUCE_MAX = 1, REDUCE_MIN = 2 };

/* A tensor's axes with neighbours of the same kind (reduced or kept) merged and axes of one
   element dropped: dims[i], whether reduced, and the stride of each in y (0 when reduced). */
typedef struct {
    int op;
    int64_t rank;
    int64_t dims[KILN_REDUCE_MAX_RANK];
    int64_t reduced[KILN_REDUCE_MAX_RANK];
    int64_t y_strides[KILN_REDUCE_MAX_RANK];
    int64_t x_strides[KILN_REDUCE_MAX_RANK];
    const float *x;
    float *y;
    /* With the innermost axis kept: the offsets in x of every position of the reduced axes,
       in order, when there are at most KILN_REDUCE_WINDOW (else window is 0). */
    int64_t window;
    int64_t offsets[KILN_REDUCE_WINDOW];
    float identity;
} reduction;

/* y[j] op= x[offsets[r] + j] for r = 0, 1, ... count-1 in turn, for a run of m elements of
   the innermost, kept, axis: every input of one run of outputs (a pooling window's cells),
   in the tensor's order. A vector of y at a time stays in a register while the inputs are
   folded in, and the last few lanes go under a mask: the runs are short (32 channels), so
   block primitives called once per cell (a fill and four maxima of 32 floats for a 2×2
   window) would spend more in calls than in work. */
#if defined(__x86_64__) && !defined(KILN_PORTABLE)
#include "kiln_simd.h"

/* b op= a for one vector: the sum, or for the maximum (minimum) a where a is NaN or beyond b,
   the primitives' rule. `op` is a constant wherever it is inlined (fold_window_##ISA). */
#define KILN_FOLD_WINDOW(ISA)                                                                         \
    KILN_TARGET_##ISA KILN_ALWAYS_INLINE static inline vec_##ISA fold_step_##ISA(int op, vec_##ISA a, vec_##ISA b) {     \
        if (op == REDUCE_SUM) return add_##ISA(b, a);                                                  \
        mask_##ISA beyond = op == REDUCE_MAX ? gt_##ISA(a, b) : lt_##ISA(a, b);                        \
        return blend_##ISA(either_##ISA(nan_##ISA(a), beyond), a, b);                                  \
    }                                                                                                  \
    /* Columns [from, m) of `group` runs x_step and y_step apart, the runs' vectors at the same   \
       columns side by side: with 32 channels a run is two vectors, and the chains of steps of  \
       four runs overlap where those of one would wait on each other. `group` is a constant     \
       wherever it is inlined. */                                                                 \
    KILN_TARGET_##ISA KILN_ALWAYS_INLINE static inline void fold_columns_##ISA(int op, int group, int64_t count, const int64_t *offsets, \
                                                            int64_t from, int64_t m, int64_t x_step, \
                                                            int64_t y_step, const float *x, float *y, \
                                                            const float *start) {                \
        int64_t j = from;                                                                          \
        for (; j < m; j += KILN_LANES_##ISA) {                                                     \
            int whole = j + KILN_LANES_##ISA <= m;                                                 \
            mask_##ISA lanes = lanes_##ISA(whole ? 0 : m - j);                                     \
            vec_##ISA b[4];                                                                        \
            for (int u = 0; u < group; u++) {                                                      \
                float *out = y + u * y_step + j;                                                   \
                b[u] = start != NULL ? set1_##ISA(*start) : load_part_##ISA(out, whole, lanes);          \
            }                                                                                      \
            for (int64_t r = 0; r < count; r++) {                                                  \
                for (int u = 0; u < group; u++) {                                                  \
                    const float *cell = x + u * x_step + offsets[r] + j;                           \
                    b[u] = fold_step_##ISA(op, load_part_##ISA(cell, whole, lanes), b[u]);             \
                }                                                                                  \
            }                                                                                      \
            for (int u = 0; u < group; u++) store_part_##ISA(y + u * y_step + j, whole, lanes, b[u]); \
        }                                                                                          \
    }                                                                                              \
    KILN_TARGET_##ISA KILN_ALWAYS_INLINE static inline void fold_window_op_##ISA(int op, int64_t count, const int64_t *offsets, \
                                                              int64_t m, int64_t runs, int64_t x_step,   \
                                                              int64_t y_step, const float *x, float *y,  \
                                                              const float *start) {                      \
        /* Four vectors of a run at a time, so that four chains of steps overlap; the columns    \
           left over one run at a time, or, when runs are shorter than four vectors and each    \
           output starts at the identity (runs folded into the same outputs, y_step 0, must    \
           then follow each other), four runs at a time while four are left. */                  \
        int64_t wide = m - m % (4 * KILN_LANES_##ISA), run = 0;                                    \
        for (; run < runs; run++, x += x_step, y += y_step) {                                      \
            for (int64_t j = 0; j < wide; j += 4 * KILN_LANES_##ISA) {                             \
                vec_##ISA b[4];                                                                    \
                for (int v = 0; v < 4; v++)                                                        \
                    b[v] = start != NULL ? set1_##ISA(*start) : load_##ISA(y + j + v * KILN_LANES_##ISA); \
                for (int64_t r = 0; r < count; r++) {                                              \
                    const float *cell = x + offsets[r] + j;                                        \
                    for (int v = 0; v < 4; v++)                                                    \
                        b[v] = fold_step_##ISA(op, load_##ISA(cell + v * KILN_LANES_##ISA), b[v]); \
                }                                                                                  \
                for (int v = 0; v < 4; v++) store_##ISA(y + j + v * KILN_LANES_##ISA, b[v]);       \
            }                                                                                      \
            if (wide == m) continue;                                                               \
            if (run + 4 <= runs && wide == 0 && start != NULL) {                                   \
                fold_columns_##ISA(op, 4, count, offsets, 0, m, x_step, y_step, x, y, start);      \
                run += 3, x += 3 * x_step, y += 3 * y_step;                                        \
            } else {                                                                               \
                fold_columns_##ISA(op, 1, count, offsets, wide, m, x_step, y_step, x, y, start);   \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    /* The operation a constant in each copy, so that none tests it per cell. */                      \
    KILN_TARGET_##ISA static void fold_window_##ISA(int op, int64_t count, const int64_t *offsets, int64_t m, \
                                                    int64_t runs, int64_t x_step, int64_t y_step, const float *x, \
                                                    float *y, const float *start) {                    \
        if (op == REDUCE_SUM) {                                                                        \
            fold_window_op_##ISA(REDUCE_SUM, count, offsets, m, runs, x_step, y_step, x, y, start);    \
        } else if (op == REDUCE_MAX) {                                                                 \
            fold_window_op_##ISA(REDUCE_MAX, count, offsets, m, runs, x_step, y_step, x, y, start);    \
        } else {                                                                                       \
            fold_window_op_##ISA(REDUCE_MIN, count, offsets, m, runs, x_step, y_step, x, y, start);    \
        }                                                                                              \
    }
KILN_FOLD_WINDOW(avx512)
KILN_FOLD_WINDOW(avx2)
#endif

/* The same for `runs` runs of outputs, x_step and y_step apart (a row of pooling windows);
   each output starts at *start (the identity) instead of y's value when start is not NULL. */
static void fold_window(int op, int64_t count, const int64_t *offsets, int64_t m, int64_t runs, int64_t x_step,
                        int64_t y_step, const float *x, float *y, const float *start) {
#if defined(__x86_64__) && !defined(KILN_PORTABLE)
    if (KILN_SIMD_CALL(kiln_cpu_simd_level(), fold_window, op, count, offsets, m, runs, x_step, y_step, x, y, start))
        return;
#endif
    /* Without vectors: the block primitives a loop nest calls, one run at a time. */
    for (int64_t run = 0; run < runs; run++, x += x_step, y += y_step) {
        if (start != NULL) kiln_fill_f32(m, *start, y);
        for (int64_t r = 0; r < count; r++) {
            const float *cells = x + offsets[r];
            if (op == REDUCE_SUM) {
                kiln_vec_sum_rows(m, cells, 1, y);
            } else if (op == REDUCE_MAX) {
                kiln_vec_max_rows(m, cells, 1, y);
            } else {
                kiln_vec_min_rows(m, cells, 1, y);
            }
        }
    }
}

/* *y op= each of m elements of the innermost, reduced, axis in turn. */
static void fold_all(int op, int64_t m, const float *x, float *y) {
    float total = *y;
    for (int64_t j = 0; j < m; j++) {
        float v = x[j];
        if (op == REDUCE_SUM) {
            total += v;
        } else if (op == REDUCE_MAX) {
            total = (v != v || v > total) ? v : total;
        } else {
            total = (v != v || v < total) ? v : total;
        }
    }
    *y = total;
}

/* Positions [begin, end) of the first axis, every other axis whole: the input in its order,
   each run of the innermost axis folded into one output (a reduced axis) or into a run of
   them (a kept one) in turn. */
static void reduce_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    const reduction *r = args[0];
    int64_t last = r->rank - 1, inner = r->dims[last];
    int64_t index[KILN_REDUCE_MAX_RANK] = {0};
    index[0] = begin;
    const float *x = r->x + begin * r->x_strides[0];
    float *y = r->y + begin * r->y_strides[0];
    if (last == 0) end = begin + 1;  /* one axis: the run is the whole of it */
    while (index[0] < end) {
        if (r->reduced[last]) {
            fold_all(r->op, inner, x, y);
        } else {
            fold_window(r->op, 1, r->offsets, inner, 1, 0, 0, x, y, NULL);
        }
        /* The next run: advance the axes before the last, innermost first. */
        int64_t axis = last - 1;
        for (; axis >= 0; axis--) {
            index[axis]++;
            x += r->x_strides[axis];
            y += r->y_strides[axis];
            if (index[axis] < r->dims[axis] || axis == 0) break;
            x -= r->dims[axis] * r->x_strides[axis];
            y -= r->dims[axis] * r->y_strides[axis];
            index[axis] = 0;
        }
        if (axis < 0) break;
    }
}

/* Positions [begin, end) of the first axis (the whole of it when it is reduced), when the
   innermost axis is kept: each run of outputs once, folding in every input of its window at
   the offsets r->offsets, in the tensor's order. The innermost kept axis before the last is
   one call of the fold (a row of pooling windows); the others are an odometer. */
static void window_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    const reduction *r = args[0];
    int64_t last = r->rank - 1, m = r->dims[last];
    int64_t kept[KILN_REDUCE_MAX_RANK], count = 0;
    for (int64_t axis = 0; axis < last; axis++) {
        if (!r->reduced[axis]) kept[count++] = axis;
    }
    int64_t first = count > 0 && kept[0] == 0;
    /* The axis the fold walks, and the odometer's axes kept[0 ..< outer]. */
    int64_t runs = 1, x_step = 0, y_step = 0, x0 = 0, y0 = 0, outer = count > 0 ? count - 1 : 0;
    if (count > 0) {
        int64_t axis = kept[count - 1];
        runs = r->dims[axis];
        x_step = r->x_strides[axis];
        y_step = r->y_strides[axis];
        if (count == 1 && first) {
            runs = end - begin;
            x0 = begin * x_step;
            y0 = begin * y_step;
        }
    }
    int64_t index[KILN_REDUCE_MAX_RANK] = {0};
    if (first && outer > 0) index[0] = begin;
    for (;;) {
        int64_t xo = x0, yo = y0;
        for (int64_t i = 0; i < outer; i++) {
            xo += index[i] * r->x_strides[kept[i]];
            yo += index[i] * r->y_strides[kept[i]];
        }
        /* Every output of the run is written here once: it starts at the identity. */
        fold_window(r->op, r->window, r->offsets, m, runs, x_step, y_step, r->x + xo, r->y + yo, &r->identity);
        int64_t i = outer - 1;
        for (; i >= 0; i--) {
            index[i]++;
            if (index[i] < (i == 0 && first ? end : r->dims[kept[i]])) break;
            index[i] = 0;
        }
        if (i < 0) break;
    }
}

/* Inputs of at least this many elements, whose first axis is kept, are split along it
   between the cores (each output is computed whole by one of them). */
#define KILN_REDUCE_PARALLEL 65536

void kiln_reduce_f32(int op, int64_t rank, const int64_t *shape, const int64_t *axes_reduced, const float *x, float *y) {
    float identity = op == REDUCE_SUM ? 0.0f : op == REDUCE_MAX ? -1.0f / 0.0f : 1.0f / 0.0f;
    reduction r = {op, 0, {0}, {0}, {0}, {0}, x, y, 0, {0}, identity};
    int64_t total = 1, outputs = 1;
    for (int64_t axis = 0; axis < rank; axis++) {
        total *= shape[axis];
        if (!axes_reduced[axis]) outputs *= shape[axis];
    }
    if (total == 0) {
        /* Nothing to fold in (an empty axis): every output is the identity. */
        kiln_fill_f32(outputs, identity, y);
        return;
    }
    for (int64_t axis = 0; axis < rank; axis++) {
        if (shape[axis] == 1) continue;
        int64_t kind = axes_reduced[axis] != 0;
        if (r.rank > 0 && r.reduced[r.rank - 1] == kind) {
            r.dims[r.rank - 1] *= shape[axis];
        } else if (r.rank < KILN_REDUCE_MAX_RANK) {
            r.dims[r.rank] = shape[axis];
            r.reduced[r.rank] = kind;
            r.rank++;
        }
    }
    if (r.rank == 0) {
        /* One element. */
        r.dims[0] = 1;
        r.rank = 1;
    }
    int64_t x_stride = 1, y_stride = 1;
    for (int64_t axis = r.rank - 1; axis >= 0; axis--) {
        r.x_strides[axis] = x_stride;
        r.y_strides[axis] = r.reduced[axis] ? 0 : y_stride;
        x_stride *= r.dims[axis];
        if (!r.reduced[axis]) y_stride *= r.dims[axis];
    }
    void *args[1] = {&r};
    int64_t last = r.rank - 1;
    if (!r.reduced[last]) {
        /* The reduced positions' offsets, in order: an odometer over the reduced axes. */
        int64_t window = 1;
        for (int64_t axis = 0; axis < last; axis++) {
            if (r.reduced[axis]) window *= r.dims[axis];
        }
        if (window <= KILN_REDUCE_WINDOW) {
            int64_t index[KILN_REDUCE_MAX_RANK] = {0};
            for (int64_t w = 0; w < window; w++) {
                int64_t offset = 0;
                for (int64_t axis = 0; axis < last; axis++) {
                    if (r.reduced[axis]) offset += index[axis] * r.x_strides[axis];
                }
                r.offsets[w] = offset;
                for (int64_t axis = last - 1; axis >= 0; axis--) {
                    if (!r.reduced[axis]) continue;
                    if (++index[axis] < r.dims[axis]) break;
                    index[axis] = 0;
                }
            }
            r.window = window;
            if (!r.reduced[0] && r.rank > 1 && total >= KILN_REDUCE_PARALLEL) {
                kiln_parallel_for_grain(r.dims[0], 0, 1, window_part, args);
            } else {
                window_part(0, r.dims[0], 0, args);
            }
            return;
        }
        if (op == REDUCE_SUM && r.rank == 2) {
            /* A sum over the rows of [rows, length] (a bias gradient): kiln_sum_columns adds
               the rows in order, each column on one core, so with length of a cache line or
               more both cores take half of the columns. */
            kiln_fill_f32(outputs, identity, y);
            kiln_sum_columns(r.dims[0], r.dims[1], x, y);
            return;
        }
        /* Too many positions to list: the input in its order, one run at a time. */
        r.window = 1;
        r.offsets[0] = 0;
    }
    kiln_fill_f32(outputs, identity, y);
    if (r.rank > 1 && !r.reduced[0] && total >= KILN_REDUCE_PARALLEL) {
        kiln_parallel_for_grain(r.dims[0], 0, 1, reduce_part, args);
    } else {
        reduce_part(0, r.dims[0], 0, args);
    }
}
