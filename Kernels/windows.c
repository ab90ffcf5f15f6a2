/* The windows of NHWC images, for convolution and pooling (Op.patches and its adjoint
   Op.foldPatches): kiln_patches copies each window's cells into a row of a matrix (im2col),
   so a convolution is one GEMM of that matrix with the filters and a pooling a reduction
   along the row; kiln_fold_patches sums such rows back into images, in the same order as the
   reference (so the same bits). Images are independent: a batch is split between the cores. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"
#include "kiln_copy.h"
#include "kiln_windows.h"

/* The windows [*inside, *past) of an output row whose undilated rows lie wholly inside the
   image's columns (none without dilation 1): each window row of those is one run of kw*c
   floats. The same for every output row, so worked out once per part. */
static void whole_windows(const window_job *j, int64_t *inside, int64_t *past) {
    *inside = *past = 0;
    if (j->dw != 1) return;
    while (*inside < j->ow && *inside * j->sw - j->left < 0) (*inside)++;
    *past = *inside;
    while (*past < j->ow && *past * j->sw - j->left + j->kw <= j->w) (*past)++;
}

/* Windows [ox0, ox1) of output row oy of one image, as rows of kh*kw*c floats from cells;
   the window rows of the whole windows [inside, past) (whole_windows) are copied as runs,
   for all of them at once. */
static void window_rows(const window_job *j, const float *image, int64_t oy, int64_t ox0, int64_t ox1, int64_t inside,
                        int64_t past, float *cells) {
    int64_t length = j->kh * j->kw * j->c, run = j->kw * j->c;
    if (inside < ox0) inside = ox0;
    if (past > ox1) past = ox1;
    for (int64_t ky = 0; ky < j->kh; ky++) {
        int64_t iy = source(oy, ky, j->sh, j->dh, j->top, j->h);
        float *row = cells + ky * run;
        for (int64_t ox = ox0; ox < ox1; ox++) {
            if (ox == inside && iy >= 0 && past > inside) {
                copy_runs(past - inside, run, image + (iy * j->w + inside * j->sw - j->left) * j->c, j->sw * j->c,
                          row + (inside - ox0) * length, length);
                ox = past - 1;
                continue;
            }
            patches_cells(j, image, iy, ox, row + (ox - ox0) * length);
        }
    }
}

static void patches_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    const window_job *j = args[0];
    int64_t inside, past;
    whole_windows(j, &inside, &past);
    for (int64_t b = begin; b < end; b++) {
        const float *image = j->x + b * j->h * j->w * j->c;
        for (int64_t oy = 0; oy < j->oh; oy++) {
            window_rows(j, image, oy, 0, j->ow, inside, past, j->y + (b * j->oh + oy) * j->ow * j->kh * j->kw * j->c);
        }
    }
}

static void fold_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    const window_job *j = args[0];
    int64_t length = j->kh * j->kw * j->c;
    for (int64_t b = begin; b < end; b++) {
        float *image = j->y + b * j->h * j->w * j->c;
        const float *row = j->x + b * j->oh * j->ow * length;
        for (int64_t i = 0; i < j->h * j->w * j->c; i++) image[i] = 0.0f;
        for (int64_t oy = 0; oy < j->oh; oy++) {
            for (int64_t ox = 0; ox < j->ow; ox++, row += length) {
                const float *cell = row;
                int64_t first = ox * j->sw - j->left, whole = j->dw == 1 && first >= 0 && first + j->kw <= j->w;
                for (int64_t ky = 0; ky < j->kh; ky++) {
                    int64_t iy = source(oy, ky, j->sh, j->dh, j->top, j->h);
                    if (whole && iy >= 0) {
                        /* The same cells, in the same order, as the loop below. */
                        float *to = image + (iy * j->w + first) * j->c;
                        for (int64_t k = 0; k < j->kw * j->c; k++) to[k] += cell[k];
                        cell += j->kw * j->c;
                        continue;
                    }
                    for (int64_t kx = 0; kx < j->kw; kx++, cell += j->c) {
                        int64_t ix = source(ox, kx, j->sw, j->dw, j->left, j->w);
                        if (iy < 0 || ix < 0) continue;
                        float *to = image + (iy * j->w + ix) * j->c;
                        for (int64_t k = 0; k < j->c; k++) to[k] += cell[k];
                    }
                }
            }
        }
    }
}

/* Window rows [first, first + count) of the whole batch (row r is window (oy, ox) of image
   b, r = (b*oh + oy)*ow + ox), one after another in rows: the parts of output rows they span. */
static void gather_windows(const window_job *j, int64_t inside, int64_t past, int64_t first, int64_t count,
                           float *rows) {
    int64_t length = j->kh * j->kw * j->c;
    for (int64_t r = first; r < first + count;) {
        int64_t ox = r % j->ow, oy = r / j->ow % j->oh, b = r / (j->ow * j->oh);
        int64_t end = ox + (first + count - r) < j->ow ? ox + (first + count - r) : j->ow;
        window_rows(j, j->x + b * j->h * j->w * j->c, oy, ox, end, inside, past, rows + (r - first) * length);
        r += end - ox;
    }
}

/* Where the c cells (ky, kx, 0..c) of window r (window (oy, ox) of image b, r = (b*oh + oy)*ow
   + ox) lie in the images, or NULL when they are padding: a window read one cell at a time,
   where kiln_patches would read it. */
static const float *window_cells(const window_job *j, int64_t r, int64_t ky, int64_t kx) {
    int64_t ox = r % j->ow, oy = r / j->ow % j->oh, image = r / (j->ow * j->oh);
    int64_t iy = source(oy, ky, j->sh, j->dh, j->top, j->h), ix = source(ox, kx, j->sw, j->dw, j->left, j->w);
    return iy < 0 || ix < 0 ? NULL : j->x + ((image * j->h + iy) * j->w + ix) * j->c;
}

/* y[cols] = window row r times b, reading each cell where kiln_patches would. */
static void windows_row_direct(const window_job *j, int64_t r, int64_t cols, const float *b, float *y) {
    for (int64_t col = 0; col < cols; col++) y[col] = 0.0f;
    for (int64_t ky = 0; ky < j->kh; ky++) {
        for (int64_t kx = 0; kx < j->kw; kx++) {
            const float *cells = window_cells(j, r, ky, kx);
            for (int64_t k = 0; k < j->c; k++, b += cols) {
                float value = cells == NULL ? j->pad : cells[k];
                for (int64_t col = 0; col < cols; col++) y[col] += value * b[col];
            }
        }
    }
}

/* Floats of window rows a core gathers at a time (32 KiB, beside b's rows in its cache). */
#define KILN_WINDOW_BLOCK 8064
/* Products of at least this many multiply-adds are split between the cores. */
#define KILN_WINDOWS_SPLIT (512 * 1024)

/* Windows at most this long are read in place when none has a cell of padding, this many at a
   time (the addresses of their first cells, and where each cell lies from it, on the stack). */
#define KILN_IN_PLACE_LENGTH 1024
#define KILN_IN_PLACE_ROWS 1008

/* Whether a product reads these windows in place: every window lies wholly inside its image,
   with no cell of padding (a valid convolution), and they are short enough. Never in exported
   C (KILN_PORTABLE), which has no narrow kernel and gathers every window. */
static int reads_in_place(const window_job *j, int64_t length) {
#if defined(KILN_PORTABLE)
    (void)j, (void)length;
    return 0;
#else
    return length <= KILN_IN_PLACE_LENGTH && windows_inside(j);
#endif
}

typedef struct {
    window_job windows;
    int64_t cols, block;
    const float *b;
    /* The window row whose products y (windows.y) starts with. */
    int64_t origin;
    /* Whether the windows are read in place (no padding cells, short enough). */
    int in_place;
} windows_product;

#if !defined(KILN_PORTABLE)
/* The first cells of windows [first, first + count) of the batch (row r is window (oy, ox) of
   image b), which all lie inside their images. */
static void window_starts(const window_job *j, int64_t first, int64_t count, const float **starts) {
    int64_t ox = first % j->ow, oy = first / j->ow % j->oh, b = first / (j->ow * j->oh);
    const float *row = j->x + ((b * j->h + oy * j->sh) * j->w) * j->c;
    for (int64_t r = 0; r < count; r++) {
        starts[r] = row + ox * j->sw * j->c;
        if (++ox < j->ow) continue;
        ox = 0;
        row += j->sh * j->w * j->c;
        if (++oy < j->oh) continue;
        oy = 0;
        row = j->x + (++b * j->h) * j->w * j->c;
    }
}

/* Rows [first, first + count) of the product from the windows read in place, the same sums as
   kiln_gemm's narrow kernel makes of the gathered rows. */
static void in_place_rows(const windows_product *job, const int64_t *offsets, int64_t first, int64_t count) {
    int64_t length = job->windows.kh * job->windows.kw * job->windows.c;
    const float *starts[KILN_IN_PLACE_ROWS];
    for (int64_t at = first; at < first + count; at += KILN_IN_PLACE_ROWS) {
        int64_t rows = first + count - at < KILN_IN_PLACE_ROWS ? first + count - at : KILN_IN_PLACE_ROWS;
        window_starts(&job->windows, at, rows, starts);
        kiln_gemm_narrow_rows(rows, job->cols, length, starts, offsets, job->b,
                              job->windows.y + (at - job->origin) * job->cols);
    }
}
#endif

static void windows_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    const windows_product *job = args[0];
    int64_t length = job->windows.kh * job->windows.kw * job->windows.c, inside, past;
    whole_windows(&job->windows, &inside, &past);
#if !defined(KILN_PORTABLE)
    int64_t offsets[KILN_IN_PLACE_LENGTH];
    if (job->in_place) window_offsets(&job->windows, offsets);
#endif
    float rows[KILN_WINDOW_BLOCK];
    for (int64_t first = begin; first < end; first += job->block) {
        int64_t count = end - first < job->block ? end - first : job->block;
#if !defined(KILN_PORTABLE)
        /* One window is kiln_gemm's one-row product (kiln_gemv), gathered. */
        if (job->in_place && count > 1 && kiln_gemm_narrow_suits(0, 0, count, job->cols, length)) {
            in_place_rows(job, offsets, first, count);
            continue;
        }
#endif
        gather_windows(&job->windows, inside, past, first, count, rows);
        kiln_gemm(0, 0, count, job->cols, length, rows, job->b, job->windows.y + (first - job->origin) * job->cols);
    }
}

/* Window rows [first, first + count) of the batch times b into y, whose first row is row
   `first`'s product. Rows longer than a block (the compiler gathers none so long) are read one
   window cell at a time, straight from the image; others are gathered in blocks of a multiple
   of 24 rows (every tile height of gemm_narrow.c divides it) when that many fit. The whole
   batch (`whole`: first is 0) is split between the cores when the product is large. */
static void window_rows_product(window_job windows, int64_t cols, const float *b, int64_t first, int64_t count,
                                int whole) {
    int64_t length = windows.kh * windows.kw * windows.c;
    if (count <= 0 || cols <= 0) return;
    if (length <= 0) {
        memset(windows.y, 0, (size_t)(count * cols) * sizeof(float));
        return;
    }
    if (length > KILN_WINDOW_BLOCK) {
        for (int64_t r = first; r < first + count; r++)
            windows_row_direct(&windows, r, cols, b, windows.y + (r - first) * cols);
        return;
    }
    int64_t block = KILN_WINDOW_BLOCK / length;
    if (block >= 24) block -= block % 24;
    windows_product job = {windows, cols, block, b, first, reads_in_place(&windows, length)};
    void *args[1] = {&job};
    if (whole && count * cols * length >= KILN_WINDOWS_SPLIT && count >= 12) {
        /* Parts of whole blocks differ by up to a block: at least eight blocks (of a multiple
           of 6 rows, the narrow kernel's tile for 64 columns) keep the cores' shares even. */
        int64_t even = count / 8 - count / 8 % 6;
        if (even < job.block) job.block = even > 6 ? even : 6;
        kiln_parallel_for_grain(count, 0, job.block, windows_part, args);
    } else {
        windows_part(first, first + count, 0, args);
    }
}

void kiln_gemm_windows(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                       int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, float pad,
                       const float *x, int64_t cols, const float *b, float *y) {
    window_job windows = {h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow, pad, x, y};
    window_rows_product(windows, cols, b, 0, n * oh * ow, 1);
}

void kiln_gemm_window_rows(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh,
                           int64_t sw, int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow,
                           float pad, const float *x, int64_t cols, const float *b, int64_t first, int64_t count,
                           float *y) {
    (void)n;
    window_job windows = {h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow, pad, x, y};
    window_rows_product(windows, cols, b, first, count, 0);
}

/* Max pooling of a convolution's bias and relu, y [n, oh/ph, ow/pw, cols] = relu(the maximum
   over each ph×pw pooling window of the window rows' products with b, plus bias), without
   writing the convolution's map: each core takes whole output pixels. Windows read in place
   (a valid convolution) are addressed where they lie, up to KILN_IN_PLACE_ROWS pixels a call;
   otherwise a block of pixels of one pixel row has its windows gathered first, a run of them
   per pooling row. Kiln's narrow
   tiles (kiln_gemm_narrow_pool) give each pixel the bits of the product, bias and relu, then
   the pooling, one after the other; exported C (KILN_PORTABLE) takes the product of the
   gathered windows from kiln_gemm and pools it in plain C. A pixel whose windows do not fit a
   block (a pooling window of more than a block's rows, windows longer than a block) is summed
   cell by cell where kiln_patches would read them. */
typedef struct {
    window_job windows;
    int64_t cols, ph, pw, rows, columns;
    const float *b, *bias;
    int in_place;
} pool_job;

/* m = x when `start`, else the maximum of m and x with the pooling's rule (a NaN, or a value
   beyond m, replaces it); then relu(m + bias) when `finish`. */
static void pool_fold(int64_t cols, const float *x, int start, int finish, const float *bias, float *m) {
    for (int64_t j = 0; j < cols; j++) {
        if (start || x[j] != x[j] || x[j] > m[j]) m[j] = x[j];
    }
    if (!finish) return;
    for (int64_t j = 0; j < cols; j++) {
        float v = m[j] + bias[j];
        m[j] = v > 0.0f || v != v ? v : 0.0f;
    }
}

/* Pixel (px, py) of image `image`, its cells one at a time, each window cell read where
   kiln_patches would read it, each sum a chain of fused multiply-adds in order, as the narrow
   tiles make it. */
static void pool_pixel_direct(const pool_job *job, int64_t image, int64_t py, int64_t px, float *y) {
    const window_job *j = &job->windows;
    for (int64_t a = 0, cell = 0; a < job->ph; a++) {
        for (int64_t bb = 0; bb < job->pw; bb++, cell++) {
            int64_t r = (image * j->oh + py * job->ph + a) * j->ow + px * job->pw + bb;
            for (int64_t col = 0; col < job->cols; col++) {
                float sum = 0.0f;
                for (int64_t ky = 0, p = 0; ky < j->kh; ky++) {
                    for (int64_t kx = 0; kx < j->kw; kx++) {
                        const float *cells = window_cells(j, r, ky, kx);
                        for (int64_t k = 0; k < j->c; k++, p++)
                            sum = fmaf(cells ? cells[k] : j->pad, job->b[p * job->cols + col], sum);
                    }
                }
                pool_fold(1, &sum, cell == 0, 0, NULL, y + col);
            }
        }
    }
    pool_fold(job->cols, y, 0, 1, job->bias, y);
}

/* Pixels [q, q + count) into y, their windows fitting a block: pixel q is pixel (px, py) of
   image `image`; gathered windows are those of one pixel row (count at most the pixels left in
   it), a run of them per pooling row. */
static void pool_pixels(const pool_job *job, int64_t image, int64_t py, int64_t px, int64_t count, int64_t inside,
                        int64_t past, const int64_t *offsets, float *rows, float *y) {
    const window_job *j = &job->windows;
    int64_t length = j->kh * j->kw * j->c, cells = job->ph * job->pw, span = count * job->pw;
    if (!job->in_place) {
        /* Run a holds the pixels' windows in map row py*ph + a. */
        for (int64_t a = 0; a < job->ph; a++) {
            window_rows(j, j->x + image * j->h * j->w * j->c, py * job->ph + a, px * job->pw, (px + count) * job->pw,
                        inside, past, rows + a * span * length);
        }
    }
#if defined(KILN_PORTABLE)
    (void)offsets;
    float sums[KILN_WINDOW_BLOCK];
    kiln_gemm(0, 0, job->ph * span, job->cols, length, rows, job->b, sums);
    for (int64_t i = 0; i < count; i++) {
        for (int64_t a = 0, cell = 0; a < job->ph; a++) {
            for (int64_t bb = 0; bb < job->pw; bb++, cell++)
                pool_fold(job->cols, sums + (a * span + i * job->pw + bb) * job->cols, cell == 0, cell == cells - 1,
                          job->bias, y + i * job->cols);
        }
    }
#else
    /* Each pixel's first cell, and where its cells lie from there: in the image (along the
       pixel rows), or in the runs of gathered windows. */
    const float *at[KILN_IN_PLACE_ROWS];
    int64_t cell_offsets[KILN_IN_PLACE_ROWS];
    int64_t cell_row = job->in_place ? j->sh * j->w * j->c : span * length;
    int64_t cell_column = job->in_place ? j->sw * j->c : length;
    for (int64_t a = 0, cell = 0; a < job->ph; a++) {
        for (int64_t bb = 0; bb < job->pw; bb++, cell++) cell_offsets[cell] = a * cell_row + bb * cell_column;
    }
    const float *row = job->in_place ? j->x + ((image * j->h + py * job->ph * j->sh) * j->w) * j->c : rows;
    for (int64_t i = 0; i < count; i++) {
        if (!job->in_place) {
            at[i] = rows + i * job->pw * length;
            continue;
        }
        at[i] = row + px * job->pw * cell_column;
        if (++px < job->columns) continue;
        px = 0;
        row += job->ph * cell_row;
        if (++py < job->rows) continue;
        py = 0;
        row = j->x + (++image * j->h) * j->w * j->c;
    }
    kiln_gemm_narrow_pool(kiln_cpu_simd_level(), count, cells, job->cols, length, at, cell_offsets, offsets, job->b, 1,
                          1, job->bias, y);
#endif
}

static void pool_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    const pool_job *job = args[0];
    const window_job *j = &job->windows;
    int64_t length = j->kh * j->kw * j->c, cells = job->ph * job->pw, inside, past;
    whole_windows(j, &inside, &past);
    /* Where each cell of a window lies from its first: in the image, or in a gathered row. */
    int64_t offsets[KILN_IN_PLACE_LENGTH];
    int64_t most = cells > KILN_IN_PLACE_ROWS ? 0 : KILN_IN_PLACE_ROWS;
#if defined(KILN_PORTABLE)
    if (job->cols * cells * most > KILN_WINDOW_BLOCK) most = KILN_WINDOW_BLOCK / (job->cols * cells);
#else
    if (length > KILN_IN_PLACE_LENGTH) {
        most = 0;
    } else if (job->in_place) {
        window_offsets(j, offsets);
    } else {
        for (int64_t p = 0; p < length; p++) offsets[p] = p;
    }
#endif
    if (!job->in_place && length * cells * most > KILN_WINDOW_BLOCK) most = KILN_WINDOW_BLOCK / (length * cells);
    float rows[KILN_WINDOW_BLOCK];
    int64_t image = begin / (job->rows * job->columns), py = begin / job->columns % job->rows, px = begin % job->columns;
    for (int64_t q = begin; q < end;) {
        int64_t count = 1;
        if (most < 1) {
            pool_pixel_direct(job, image, py, px, job->windows.y + q * job->cols);
        } else {
            /* Gathered windows come a pixel row at a time. */
            count = end - q < most ? end - q : most;
            if (!job->in_place && count > job->columns - px) count = job->columns - px;
            pool_pixels(job, image, py, px, count, inside, past, offsets, rows, job->windows.y + q * job->cols);
        }
        q += count;
        for (px += count; px >= job->columns; px -= job->columns) {
            if (++py < job->rows) continue;
            py = 0;
            image++;
        }
    }
}

/* Poolings of at least this many multiply-adds are split between the cores (one image of the
   Keras convnet's first convolution, 166k, is). */
#define KILN_POOL_SPLIT 65536

void kiln_gemm_window_pool(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                           int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, float pad,
                           const float *x, int64_t cols, const float *b, const float *bias, int64_t ph, int64_t pw,
                           float *y) {
    int64_t length = kh * kw * c;
    if (ph <= 0 || pw <= 0 || cols <= 0 || oh < ph || ow < pw) return;
    int64_t pixels = n * (oh / ph) * (ow / pw);
    if (pixels <= 0) return;
    window_job windows = {h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow, pad, x, y};
    pool_job job = {windows, cols, ph, pw, oh / ph, ow / pw, b, bias, reads_in_place(&windows, length)};
    void *args[1] = {&job};
    if (pixels >= 2 && pixels * ph * pw * cols * length >= KILN_POOL_SPLIT) {
        kiln_parallel_for_grain(pixels, 0, 1, pool_part, args);
    } else {
        pool_part(0, pixels, 0, args);
    }
}

/* The transposed product, y [kh*kw*c, cols] = the sum over every window r of the batch of its
   row times row r of dz (a filter's gradient), without writing the rows either. The windows
   go in two halves, one a core, whose sums are added at the end (the second's in `second`,
   as many floats as y), on one core as on two, so that the bits never depend on the cores
   there are; each core reads only its half of the images and of dz. A half's windows are
   taken in chunks, read in place when none has a cell of padding (the addresses of their
   first cells), gathered into the core's cache otherwise, and kiln_gemm_narrow_rows_t adds
   their products to the sums of the chunks before: every sum runs through the half's windows
   in order. Training steps only: exported C (KILN_PORTABLE) runs inference, and has no narrow
   kernel. */
#if !defined(KILN_PORTABLE)
#define KILN_WINDOWS_T_CHUNK 64

typedef struct {
    window_job windows;
    int64_t cols, length;
    const float *dz;
    int in_place;
    /* Where the second half starts, and its sums. */
    int64_t middle;
    float *second;
} windows_t_product;

/* The sums over windows [first, last) into y (a row of `cols` per cell). An empty range
   leaves y as it is: kiln_gemm_windows_t zeroes y first, and the second half always has a
   window. */
static void windows_t_range(const windows_t_product *job, int64_t first, int64_t last, float *y) {
    int64_t offsets[KILN_IN_PLACE_LENGTH], inside = 0, past = 0;
    const float *starts[KILN_WINDOWS_T_CHUNK];
    int64_t chunk = KILN_WINDOWS_T_CHUNK;
    float rows[KILN_WINDOW_BLOCK];
    if (job->in_place) {
        window_offsets(&job->windows, offsets);
    } else {
        for (int64_t p = 0; p < job->length; p++) offsets[p] = p;
        whole_windows(&job->windows, &inside, &past);
        if (KILN_WINDOW_BLOCK / job->length < chunk) chunk = KILN_WINDOW_BLOCK / job->length;
    }
    for (int64_t at = first; at < last; at += chunk) {
        int64_t count = last - at < chunk ? last - at : chunk;
        if (job->in_place) {
            window_starts(&job->windows, at, count, starts);
        } else {
            gather_windows(&job->windows, inside, past, at, count, rows);
            for (int64_t i = 0; i < count; i++) starts[i] = rows + i * job->length;
        }
        kiln_gemm_narrow_rows_t(0, job->length, job->cols, count, starts, offsets, job->dz + at * job->cols, at > first,
                                y);
    }
}

static void windows_t_halves(int64_t begin, int64_t end, int64_t n, void *const *args) {
    const windows_t_product *job = args[0];
    for (int64_t half = begin; half < end; half++) {
        if (half == 0) windows_t_range(job, 0, job->middle, job->windows.y);
        else windows_t_range(job, job->middle, n, job->second);
    }
}

void kiln_gemm_windows_t(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                         int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, float pad,
                         const float *x, int64_t cols, const float *dz, float *y, float *second) {
    window_job windows = {h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow, pad, x, y};
    int64_t length = kh * kw * c, count = n * oh * ow;
    if (length <= 0 || cols <= 0) return;
    memset(y, 0, (size_t)(length * cols) * sizeof(float));
    if (count <= 0) return;
    windows_t_product job = {windows, cols, length, dz, reads_in_place(&windows, length), count / 2, second};
    if (length > KILN_IN_PLACE_LENGTH || (!job.in_place && length > KILN_WINDOW_BLOCK)) {
        /* Longer windows than any convolution Kiln compiles this way: a cell at a time. */
        for (int64_t r = 0; r < count; r++) {
            for (int64_t ky = 0, p = 0; ky < kh; ky++) {
                for (int64_t kx = 0; kx < kw; kx++) {
                    const float *cells = window_cells(&windows, r, ky, kx);
                    for (int64_t k = 0; k < c; k++, p++) {
                        float value = cells == NULL ? pad : cells[k];
                        for (int64_t col = 0; col < cols; col++) y[p * cols + col] += value * dz[r * cols + col];
                    }
                }
            }
        }
        return;
    }
    void *args[1] = {&job};
    if (count * cols * length >= KILN_WINDOWS_SPLIT) kiln_parallel_for_grain(2, count, 1, windows_t_halves, args);
    else windows_t_halves(0, 2, count, args);
    for (int64_t i = 0; i < length * cols; i++) y[i] += second[i];
}
#endif

/* The input gradient's product folded as it is made (kiln_gemm_fold_windows): each core
   folds whole images, each image's rows of dz times bᵀ through kiln_gemm_narrow_fold. Not in
   exported C (KILN_PORTABLE), which has no narrow kernel: there the product is made whole in
   the scratch and folded, as when it has fewer windows than filters. */
#if !defined(KILN_PORTABLE)
typedef struct {
    kiln_fold_shape shape;
    int64_t oh, cols, length;
    const float *dz, *bt;
    float *y;
} fold_product;

static void fold_product_part(int64_t begin, int64_t end, int64_t n, void *const *args) {
    (void)n;
    const fold_product *job = args[0];
    int64_t windows = job->oh * job->shape.ow, image = job->shape.h * job->shape.w * job->shape.c;
    for (int64_t b = begin; b < end; b++) {
        memset(job->y + b * image, 0, (size_t)image * sizeof(float));
        kiln_gemm_narrow_fold(kiln_cpu_simd_level(), windows, job->length, job->cols, job->dz + b * windows * job->cols,
                              job->bt, &job->shape, job->y + b * image);
    }
}

/* Batches whose products hold at least this many multiply-adds are folded on every core. */
#define KILN_FOLD_PRODUCT_SPLIT (512 * 1024)
#endif

void kiln_gemm_fold_windows(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                            int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, int64_t cols,
                            const float *dz, const float *b, float *scratch, float *y) {
    int64_t length = kh * kw * c, rows = n * oh * ow;
    if (n <= 0) return;
    if (length <= 0 || cols <= 0 || rows <= 0) {
        memset(y, 0, (size_t)(n * h * w * c) * sizeof(float));
        return;
    }
#if !defined(KILN_PORTABLE)
    if (rows >= cols) {
        /* The tiles read b's columns as rows: bᵀ [cols, length] in the product's place. */
        for (int64_t p = 0; p < cols; p++)
            for (int64_t q = 0; q < length; q++) scratch[p * length + q] = b[q * cols + p];
        fold_product job = {{h, w, c, kh, kw, sh, sw, dh, dw, top, left, ow}, oh, cols, length, dz, scratch, y};
        void *args[1] = {&job};
        if (rows * length * cols >= KILN_FOLD_PRODUCT_SPLIT && n > 1) kiln_parallel_for_grain(n, n, 1, fold_product_part, args);
        else fold_product_part(0, n, n, args);
        return;
    }
#endif
    /* Fewer windows than filters (the product's place cannot hold bᵀ, and is small), or
       exported C: the product, then the fold. */
    kiln_gemm(0, 1, rows, length, cols, dz, b, scratch);
    kiln_fold_patches(n, h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow, scratch, y);
}

/* Batches whose images hold at least this many window elements in all are split between the cores. */
#define KILN_WINDOWS_PARALLEL 65536

static void run(kiln_part_fn part, int64_t n, const window_job *job) {
    void *args[1] = {(void *)job};
    if (n * job->oh * job->ow * job->kh * job->kw * job->c >= KILN_WINDOWS_PARALLEL) {
        kiln_parallel_for_grain(n, 0, 1, part, args);
    } else {
        part(0, n, 0, args);
    }
}

void kiln_patches(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                  int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, float pad,
                  const float *x, float *y) {
    window_job job = {h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow, pad, x, y};
    run(patches_part, n, &job);
}

void kiln_fold_patches(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                       int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, const float *x,
                       float *y) {
    window_job job = {h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow, 0.0f, x, y};
    run(fold_part, n, &job);
}
