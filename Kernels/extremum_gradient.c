/* kiln_extremum_gradient: the gradient of a maximum or minimum over some axes of a tensor (a
   max pooling's), in one pass over each group of elements reduced together.

   Each element equal to its group's extremum gets the group's gradient divided by the
   number of elements equal to it (ties share it), times an optional mask; every other
   element gets 0. As separate loops this is a compare and a count written out and read back,
   a division, and two selects over the whole input (for a pooling of 128 maps of 24×24×32,
   five passes over 9 MB); here a group's cells are read while they are in the cache: once
   to count the ties, once to write the shares. A count is a sum of ones, exact in any order,
   and the share is one division, so the bits are those of the separate loops.

   The innermost axis, when kept (a pooling's channels), is the run each step works on, a
   vector at a time; the groups (a window's cells) are listed once as offsets. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"

#pragma STDC FP_CONTRACT OFF
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
#include "kiln_vectorize.h"

#define KILN_EXTREMUM_MAX_RANK 16
/* Runs of the innermost axis are taken this many elements at a time. */
#define KILN_EXTREMUM_RUN 256
/* Groups of at most this many cells have their offsets listed once; larger ones (a global
   pooling of a large map) compute each offset as they go. */
#define KILN_EXTREMUM_LISTED 1024
/* Inputs of at least this many elements are split between the cores by groups. */
#define KILN_EXTREMUM_SPLIT 65536

typedef struct {
    int64_t rank;
    int64_t dims[KILN_EXTREMUM_MAX_RANK];
    int64_t reduced[KILN_EXTREMUM_MAX_RANK];
    int64_t x_strides[KILN_EXTREMUM_MAX_RANK];
    int64_t y_strides[KILN_EXTREMUM_MAX_RANK];
    /* The innermost axis's length when it is kept (the run), else 1. */
    int64_t run;
    /* Cells of a group, and their offsets in x when listed. */
    int64_t cells;
    int64_t listed;
    int64_t offsets[KILN_EXTREMUM_LISTED];
    const float *x, *y, *dy;
    const uint8_t *keep;
    float *out;
} extremum_job;

/* The offset in x of cell `cell` of a group (its index over the reduced axes, row-major). */
static int64_t computed_offset(const extremum_job *job, int64_t cell) {
    int64_t offset = 0;
    for (int64_t axis = job->rank - 1; axis >= 0; axis--) {
        if (!job->reduced[axis]) continue;
        offset += (cell % job->dims[axis]) * job->x_strides[axis];
        cell /= job->dims[axis];
    }
    return offset;
}

/* The same, from the list when the groups are small enough to have one. */
static inline int64_t cell_offset(const extremum_job *job, int64_t cell) {
    return job->listed ? job->offsets[cell] : computed_offset(job, cell);
}

/* Groups [begin, end), numbered row-major over the kept axes other than the run's. The loops
   over a run are written inline, so that each clone of this function (AVX-512, AVX2,
   baseline) vectorises them: a pooling's runs are 32 channels, and a call per run and cell
   would cost more than the work. */
KILN_CLONES static void extremum_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    const extremum_job *job = args[0];
    int64_t last = job->run > 1 ? job->rank - 1 : job->rank;
    float counts[KILN_EXTREMUM_RUN], shares[KILN_EXTREMUM_RUN];
    /* The first group's index along each kept axis before the run's, then an odometer. */
    int64_t index[KILN_EXTREMUM_MAX_RANK] = {0}, x0 = 0, y0 = 0;
    for (int64_t axis = last - 1, rest = begin; axis >= 0; axis--) {
        if (job->reduced[axis]) continue;
        index[axis] = rest % job->dims[axis];
        rest /= job->dims[axis];
        x0 += index[axis] * job->x_strides[axis];
        y0 += index[axis] * job->y_strides[axis];
    }
    for (int64_t group = begin; group < end; group++) {
        for (int64_t j = 0; j < job->run; j += KILN_EXTREMUM_RUN) {
            int64_t m = job->run - j < KILN_EXTREMUM_RUN ? job->run - j : KILN_EXTREMUM_RUN;
            const float *y = job->y + y0 + j, *dy = job->dy + y0 + j;
            for (int64_t i = 0; i < m; i++) counts[i] = 0.0f;
            for (int64_t cell = 0; cell < job->cells; cell++) {
                const float *x = job->x + x0 + j + cell_offset(job, cell);
                KILN_SIMD for (int64_t i = 0; i < m; i++) counts[i] += x[i] == y[i] ? 1.0f : 0.0f;
            }
            KILN_SIMD for (int64_t i = 0; i < m; i++) shares[i] = dy[i] / counts[i];
            for (int64_t cell = 0; cell < job->cells; cell++) {
                int64_t at = x0 + j + cell_offset(job, cell);
                const float *x = job->x + at;
                float *out = job->out + at;
                if (job->keep != NULL) {
                    const uint8_t *keep = job->keep + at;
                    /* Both tests in every lane (no short circuit), so that the loop vectorises. */
                    KILN_SIMD for (int64_t i = 0; i < m; i++) out[i] = ((x[i] == y[i]) & (keep[i] != 0)) ? shares[i] : 0.0f;
                } else {
                    KILN_SIMD for (int64_t i = 0; i < m; i++) out[i] = x[i] == y[i] ? shares[i] : 0.0f;
                }
            }
        }
        for (int64_t axis = last - 1; axis >= 0; axis--) {
            if (job->reduced[axis]) continue;
            x0 += job->x_strides[axis];
            y0 += job->y_strides[axis];
            if (++index[axis] < job->dims[axis]) break;
            x0 -= job->dims[axis] * job->x_strides[axis];
            y0 -= job->dims[axis] * job->y_strides[axis];
            index[axis] = 0;
        }
    }
}

void kiln_extremum_gradient(int64_t rank, const int64_t *shape, const uint8_t *reduced, const float *x, const float *y,
                            const float *dy, const uint8_t *keep, float *out) {
    extremum_job job = {.rank = rank, .x = x, .y = y, .dy = dy, .keep = keep, .out = out};
    int64_t total = 1, groups = 1, cells = 1;
    for (int64_t axis = rank - 1, xs = 1, ys = 1; axis >= 0; axis--) {
        job.dims[axis] = shape[axis];
        job.reduced[axis] = reduced[axis];
        job.x_strides[axis] = xs;
        job.y_strides[axis] = reduced[axis] ? 0 : ys;
        xs *= shape[axis];
        if (!reduced[axis]) ys *= shape[axis];
        total *= shape[axis];
    }
    if (total == 0) return;
    job.run = rank > 0 && !reduced[rank - 1] ? shape[rank - 1] : 1;
    for (int64_t axis = 0; axis < rank; axis++) {
        if (reduced[axis]) cells *= shape[axis];
        else if (axis < rank - 1 || job.run == 1) groups *= shape[axis];
    }
    job.cells = cells;
    job.listed = cells <= KILN_EXTREMUM_LISTED;
    if (job.listed) {
        for (int64_t cell = 0; cell < cells; cell++) job.offsets[cell] = computed_offset(&job, cell);
    }
    void *args[1] = {&job};
    if (total >= KILN_EXTREMUM_SPLIT && groups > 1) {
        kiln_parallel_for_grain(groups, groups, 1, extremum_part, args);
    } else {
        extremum_part(0, groups, groups, args);
    }
}
