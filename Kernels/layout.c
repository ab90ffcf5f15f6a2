/* Data movement: transpose, slice, pad and concatenate, for elements of any size, and the
   prefetch of what a loop reads a few steps ahead. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"
#include "kiln_copy.h"

/* Copies one element of elem_size bytes (1 or 4 in practice). */
static inline void copy_element(int64_t elem_size, const char *from, char *to) {
    if (elem_size == 4) *(uint32_t *)to = *(const uint32_t *)from;
    else memcpy(to, from, (size_t)elem_size);
}

/* A transpose that keeps the last axis last ([t, n, f] to [n, t, f]) moves whole rows: rows
   [begin, end) of the output, walking the input in the output's order. */
typedef struct {
    int64_t rank;         /* axes before the last */
    int64_t shape[16];    /* the output's axes before the last */
    int64_t strides[16];  /* the input's strides along them, in elements */
    size_t bytes;         /* one row */
    int64_t elem_size;
    const char *x;
    char *y;
} rows_job;

static void transpose_row_range(const rows_job *job, int64_t begin, int64_t end) {
    kiln_row_walk walk = kiln_row_walk_start(job->rank, job->shape, job->strides, begin);
    for (int64_t row = begin; row < end; row++) {
        memcpy(job->y + row * (int64_t)job->bytes, job->x + walk.offset * job->elem_size, job->bytes);
        kiln_row_walk_next(&walk, job->rank, job->shape, job->strides);
    }
}

static void transpose_rows_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    transpose_row_range(args[0], begin, end);
}

/* Moves of at least this many bytes are split between the cores: a recurrent layer's input
   turned time-major ([64, 100, 32] floats, 800 KB) reads rows 12.8 KB apart, a cache line or
   two each, which one core fetches a few at a time. */
#define KILN_TRANSPOSE_SPLIT (256 * 1024)

static void transpose_rows(int64_t elem_size, int64_t rank, const int64_t *shape, const int64_t *perm,
                           const void *x, void *y) {
    rows_job job = {.rank = rank - 1, .bytes = (size_t)(shape[rank - 1] * elem_size), .elem_size = elem_size,
                    .x = x, .y = y};
    int64_t in_strides[16], rows = 1;
    for (int64_t axis = rank - 1, stride = 1; axis >= 0; axis--) {
        in_strides[axis] = stride;
        stride *= shape[axis];
    }
    for (int64_t i = 0; i < rank - 1; i++) {
        job.shape[i] = shape[perm[i]];
        job.strides[i] = in_strides[perm[i]];
        rows *= job.shape[i];
    }
    if (rows >= 2 && rows * (int64_t)job.bytes >= KILN_TRANSPOSE_SPLIT) {
        void *const args[] = {&job};
        kiln_parallel_for_grain(rows, rows, 1, transpose_rows_part, args);
        return;
    }
    transpose_row_range(&job, 0, rows);
}

/* A transpose of the last two axes of 4-byte elements ([..., r, c] to [..., c, r]), matrix by
   matrix in tiles of 16 × 16 that stay in the cache: a step of the general walk below per
   element costs several times the copy (a recurrent layer's [64, 256] weight, every step). */
static void transpose_matrices(int64_t count, int64_t rows, int64_t cols, const uint32_t *x, uint32_t *y) {
    for (int64_t matrix = 0; matrix < count; matrix++) {
        const uint32_t *a = x + matrix * rows * cols;
        uint32_t *b = y + matrix * rows * cols;
        for (int64_t i0 = 0; i0 < rows; i0 += 16) {
            int64_t i1 = rows - i0 < 16 ? rows : i0 + 16;
            for (int64_t j0 = 0; j0 < cols; j0 += 16) {
                int64_t j1 = cols - j0 < 16 ? cols : j0 + 16;
                for (int64_t j = j0; j < j1; j++) {
                    for (int64_t i = i0; i < i1; i++) b[j * rows + i] = a[i * cols + j];
                }
            }
        }
    }
}

/* Whether perm swaps the last two axes and keeps the others. */
static int swaps_last_two(int64_t rank, const int64_t *perm) {
    if (rank < 2 || perm[rank - 1] != rank - 2 || perm[rank - 2] != rank - 1) return 0;
    for (int64_t axis = 0; axis < rank - 2; axis++) {
        if (perm[axis] != axis) return 0;
    }
    return 1;
}

void kiln_transpose(int64_t elem_size, int64_t rank, const int64_t *shape, const int64_t *perm,
                    const void *x, void *y) {
    if (rank >= 2 && perm[rank - 1] == rank - 1 && shape[rank - 1] >= 4) {
        transpose_rows(elem_size, rank, shape, perm, x, y);
        return;
    }
    if (elem_size == 4 && swaps_last_two(rank, perm)) {
        int64_t count = 1;
        for (int64_t axis = 0; axis < rank - 2; axis++) count *= shape[axis];
        transpose_matrices(count, shape[rank - 2], shape[rank - 1], x, y);
        return;
    }
    int64_t in_strides[16], out_shape[16], walk[16], index[16], total = 1;
    for (int64_t axis = rank - 1, stride = 1; axis >= 0; axis--) {
        in_strides[axis] = stride;
        stride *= shape[axis];
    }
    for (int64_t i = 0; i < rank; i++) {
        out_shape[i] = shape[perm[i]];
        walk[i] = in_strides[perm[i]];
        index[i] = 0;
        total *= out_shape[i];
    }
    const char *src = x;
    char *dst = y;
    int64_t offset = 0;
    for (int64_t position = 0; position < total; position++) {
        copy_element(elem_size, src + offset * elem_size, dst + position * elem_size);
        for (int64_t axis = rank - 1; axis >= 0; axis--) {
            offset += walk[axis];
            if (++index[axis] < out_shape[axis]) break;
            offset -= walk[axis] * out_shape[axis];
            index[axis] = 0;
        }
    }
}

/* Walks the rows of a box of shape box in a tensor of shape full, starting at origin, calling
   copy_row with the element offset of each row in both. A row is the last axis, joined with
   the axes before it while the box spans the whole of the axes after them (so a crop of
   [n, 11, 11, 64] to [n, 10, 10, 64] copies runs of 10*64 elements); the callers size their
   rows with for_each_row_length. */
static int64_t joined_axes(int64_t rank, const int64_t *full, const int64_t *box) {
    int64_t axis = rank - 1;
    while (axis > 0 && box[axis] == full[axis]) axis--;
    return axis;
}

static int64_t for_each_row_length(int64_t rank, const int64_t *full, const int64_t *box) {
    int64_t length = 1;
    for (int64_t axis = rank > 0 ? joined_axes(rank, full, box) : 0; axis < rank; axis++) length *= box[axis];
    return length;
}

static void for_each_row(int64_t rank, const int64_t *full, const int64_t *origin, const int64_t *box,
                         void (*copy_row)(int64_t, int64_t, void *), void *context) {
    int64_t strides[16], index[16], rows = 1;
    if (rank > 1) {
        /* Joined axes: the last one becomes axis `last` with the product of their lengths. */
        int64_t last = joined_axes(rank, full, box);
        if (last < rank - 1) {
            int64_t joined_full[16], joined_origin[16], joined_box[16];
            for (int64_t axis = 0; axis <= last; axis++) {
                joined_full[axis] = full[axis];
                joined_origin[axis] = origin[axis];
                joined_box[axis] = box[axis];
            }
            for (int64_t axis = last + 1; axis < rank; axis++) {
                joined_full[last] *= full[axis];
                joined_origin[last] *= full[axis];
                joined_box[last] *= box[axis];
            }
            for_each_row(last + 1, joined_full, joined_origin, joined_box, copy_row, context);
            return;
        }
    }
    for (int64_t axis = rank - 1, stride = 1; axis >= 0; axis--) {
        strides[axis] = stride;
        stride *= full[axis];
    }
    for (int64_t axis = 0; axis < rank; axis++) {
        index[axis] = 0;
        if (axis < rank - 1) rows *= box[axis];
    }
    if (rank == 0) {
        copy_row(0, 0, context);
        return;
    }
    if (box[rank - 1] == 0) return;
    for (int64_t row = 0; row < rows; row++) {
        int64_t offset = 0;
        for (int64_t axis = 0; axis < rank; axis++) offset += (origin[axis] + index[axis]) * strides[axis];
        copy_row(row, offset, context);
        for (int64_t axis = rank - 2; axis >= 0; axis--) {
            if (++index[axis] < box[axis]) break;
            index[axis] = 0;
        }
    }
}

struct row_copy {
    int64_t elem_size, row_length;
    const char *x;
    char *y;
    int into_full; /* 1: rows of x (packed) go to offsets in y; 0: rows at offsets in x go to y (packed) */
};

static void copy_row(int64_t row, int64_t offset, void *context) {
    struct row_copy *c = context;
    size_t bytes = (size_t)(c->row_length * c->elem_size);
    if (c->into_full) memcpy(c->y + offset * c->elem_size, c->x + row * (int64_t)bytes, bytes);
    else memcpy(c->y + row * (int64_t)bytes, c->x + offset * c->elem_size, bytes);
}

/* A box of 4-byte elements that is rows one stride apart once its axes are joined (a slice
   of the last axis: a recurrent layer's gates, every step): the axes before the row's span
   the whole tensor but the first. The number of rows, their length, the box's first
   element's offset in the full tensor and the stride of its rows, or 0 when the box is not
   such rows. */
static int as_strided_rows(int64_t elem_size, int64_t rank, const int64_t *full, const int64_t *origin,
                           const int64_t *box, int64_t *rows, int64_t *length, int64_t *offset, int64_t *stride) {
    if (elem_size != 4 || rank < 2 || rank > 16) return 0;
    int64_t last = joined_axes(rank, full, box);
    if (last == 0) return 0;
    for (int64_t axis = 1; axis < last; axis++) {
        if (box[axis] != full[axis]) return 0;
    }
    *rows = *length = *stride = 1;
    *offset = 0;
    for (int64_t axis = rank - 1, step = 1; axis >= 0; axis--) {
        *offset += origin[axis] * step;
        if (axis >= last) {
            *length *= box[axis];
            *stride *= full[axis];
        } else {
            *rows *= box[axis];
        }
        step *= full[axis];
    }
    return 1;
}

static void slice_rows(int64_t elem_size, int64_t rank, const int64_t *in_shape, const int64_t *starts,
                       const int64_t *out_shape, const void *x, void *y) {
    int64_t rows, length, offset, stride;
    if (as_strided_rows(elem_size, rank, in_shape, starts, out_shape, &rows, &length, &offset, &stride)) {
        copy_runs(rows, length, (const uint32_t *)x + offset, stride, y, length);
        return;
    }
    struct row_copy c = {elem_size, for_each_row_length(rank, in_shape, out_shape), x, y, 0};
    for_each_row(rank, in_shape, starts, out_shape, copy_row, &c);
}

static void pad_rows(int64_t elem_size, int64_t rank, const int64_t *in_shape, const int64_t *low,
                     const int64_t *out_shape, const void *x, void *y) {
    int64_t total = 1;
    for (int64_t axis = 0; axis < rank; axis++) total *= out_shape[axis];
    memset(y, 0, (size_t)(total * elem_size));
    int64_t rows, length, offset, stride;
    if (as_strided_rows(elem_size, rank, out_shape, low, in_shape, &rows, &length, &offset, &stride)) {
        copy_runs(rows, length, x, length, (uint32_t *)y + offset, stride);
        return;
    }
    struct row_copy c = {elem_size, for_each_row_length(rank, out_shape, in_shape), x, y, 1};
    for_each_row(rank, out_shape, low, in_shape, copy_row, &c);
}

/* A slice or pad of at least this many elements, whose first axis the pad leaves alone, is
   split between the cores along that axis (a batch): each part moves whole rows, so the
   split changes no byte. */
#define KILN_LAYOUT_SPLIT 65536

typedef struct {
    int64_t elem_size, rank;
    const int64_t *in_shape, *origin, *out_shape;
    const void *x;
    void *y;
    int pad;
} layout_job;

/* Indices [begin, end) of the first axis of the slice or pad in `args[0]`. */
static void layout_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    const layout_job *job = args[0];
    int64_t in_shape[16], origin[16], out_shape[16], in_inner = 1, out_inner = 1;
    for (int64_t axis = 0; axis < job->rank; axis++) {
        in_shape[axis] = job->in_shape[axis];
        origin[axis] = job->origin[axis];
        out_shape[axis] = job->out_shape[axis];
        if (axis > 0) {
            in_inner *= in_shape[axis];
            out_inner *= out_shape[axis];
        }
    }
    in_shape[0] = out_shape[0] = end - begin;
    int64_t first = job->pad ? begin : job->origin[0] + begin;
    origin[0] = 0;
    const char *x = (const char *)job->x + first * in_inner * job->elem_size;
    char *y = (char *)job->y + begin * out_inner * job->elem_size;
    if (job->pad) pad_rows(job->elem_size, job->rank, in_shape, origin, out_shape, x, y);
    else slice_rows(job->elem_size, job->rank, in_shape, origin, out_shape, x, y);
}

/* Whether a slice or pad to out_shape is worth splitting along its first axis. */
static int layout_splits(int64_t rank, const int64_t *out_shape) {
    if (rank < 2 || rank > 16 || out_shape[0] < 2) return 0;
    int64_t total = 1;
    for (int64_t axis = 0; axis < rank; axis++) total *= out_shape[axis];
    return total >= KILN_LAYOUT_SPLIT;
}

void kiln_slice(int64_t elem_size, int64_t rank, const int64_t *in_shape, const int64_t *starts,
                const int64_t *out_shape, const void *x, void *y) {
    if (layout_splits(rank, out_shape)) {
        layout_job job = {elem_size, rank, in_shape, starts, out_shape, x, y, 0};
        void *const args[] = {&job};
        kiln_parallel_for_grain(out_shape[0], out_shape[0], 1, layout_part, args);
        return;
    }
    slice_rows(elem_size, rank, in_shape, starts, out_shape, x, y);
}

void kiln_pad(int64_t elem_size, int64_t rank, const int64_t *in_shape, const int64_t *low,
              const int64_t *out_shape, const void *x, void *y) {
    if (layout_splits(rank, out_shape) && low[0] == 0 && in_shape[0] == out_shape[0]) {
        layout_job job = {elem_size, rank, in_shape, low, out_shape, x, y, 1};
        void *const args[] = {&job};
        kiln_parallel_for_grain(out_shape[0], out_shape[0], 1, layout_part, args);
        return;
    }
    pad_rows(elem_size, rank, in_shape, low, out_shape, x, y);
}

void kiln_concat_part(int64_t elem_size, int64_t outer, int64_t part, int64_t total, int64_t offset,
                      const void *x, void *y) {
    if (elem_size == 4) {
        copy_runs(outer, part, x, part, (uint32_t *)y + offset, total);
        return;
    }
    const char *src = x;
    char *dst = y;
    for (int64_t o = 0; o < outer; o++) {
        memcpy(dst + (o * total + offset) * elem_size, src + o * part * elem_size, (size_t)(part * elem_size));
    }
}

void kiln_prefetch(const void *x, int64_t bytes) {
#if defined(__GNUC__) || defined(__clang__)
    /* Into the core's L2 (locality 2: prefetcht1), a cache line at a time: the lines a loop
       step reads two steps later, which its other arrays would push out of the L1 first. */
    const char *at = x;
    for (int64_t offset = 0; offset < bytes; offset += 64) __builtin_prefetch(at + offset, 0, 2);
#else
    (void)x, (void)bytes;
#endif
}
