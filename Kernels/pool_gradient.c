/* kiln_pooled_filter_gradient: a convolution's filter and bias gradients when its output goes
   through a ReLU and a max pooling, without writing the gradient of its map.

   A training step sends the pooled gradient back to the map with kiln_extremum_gradient
   (each cell equal to its window's maximum gets the window's gradient divided by the number
   of such cells, times the ReLU's mask), writes that map gradient, and reads it twice: for the
   bias (its sum) and for the filters (the windows' transpose times it, kiln_gemm_windows_t).
   For the first convolution of the Keras convnet at batch 128 that is 9.4 MB written and read
   back twice, three quarters of it zeros. Here each core takes half of the images, pooled pixel
   after pooled pixel: the cells' gradients are made in registers with the bits
   kiln_extremum_gradient gives them, added to the bias sums, and multiplied into the filter
   sums by each cell's window, read where it lies in the image (gathered with its padding when
   it has some). The sums are in a different order from the separate kernels' (pixel by pixel
   instead of window block by window block), so the result may differ from theirs in the last
   bits; the two halves are added at the end, so the bits do not depend on the number of cores. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"
#include "kiln_windows.h"

#if !defined(KILN_PORTABLE)
#include <math.h>

/* Pooling windows of at most this many cells, convolution windows of at most this many floats,
   at most this many filters (the compiler calls the kernel only within these limits). */
#define KILN_POOLED_CELLS 64
#define KILN_POOLED_LENGTH 1024
#define KILN_POOLED_COLS 256
/* Floats of padded windows a pooled pixel gathers (64 KiB). */
#define KILN_POOLED_GATHERED 16384

typedef struct {
    /* The convolution's windows (its map's pixels). */
    window_job win;
    int64_t ph, pw, cols, length;
    const float *map, *pooled, *dpooled;
    const uint8_t *keep;
    /* Whether every window lies inside its image (read in place), and where the second half
       of the images starts. */
    int in_place, level;
    int64_t middle;
    float *y, *bias, *second;
} pooled_job;

/* One pooled pixel: its cells' map pixels (and mask bytes, or NULL), its maximum and
   gradient, and each cell's window as a start and the offsets of its floats from it. */
typedef struct {
    const float *maps[KILN_POOLED_CELLS];
    const uint8_t *keeps[KILN_POOLED_CELLS];
    const float *windows[KILN_POOLED_CELLS];
    const float *ym, *dy;
} pooled_pixel;

/* The window of map pixel (oy, ox) with its padding, as kiln_patches writes it. */
static void gather_window(const window_job *j, const float *image, int64_t oy, int64_t ox, float *v) {
    for (int64_t ky = 0; ky < j->kh; ky++, v += j->kw * j->c)
        patches_cells(j, image, source(oy, ky, j->sh, j->dh, j->top, j->h), ox, v);
}

/* The plain C form: column by column, the same operations in the same order as the AVX-512
   form, so the same bits. */
static void pixel_plain(const pooled_job *j, int64_t cells, const pooled_pixel *px, const int64_t *offsets, float *y,
                        float *bias) {
    const int64_t cols = j->cols, length = j->length;
    for (int64_t i = 0; i < cols; i++) {
        float count = 0.0f, g[KILN_POOLED_CELLS];
        for (int64_t cell = 0; cell < cells; cell++) count += px->maps[cell][i] == px->ym[i] ? 1.0f : 0.0f;
        float share = px->dy[i] / count;
        for (int64_t cell = 0; cell < cells; cell++) {
            int hit = (px->maps[cell][i] == px->ym[i]) & (px->keeps[cell] == NULL || px->keeps[cell][i] != 0);
            g[cell] = hit ? share : 0.0f;
            bias[i] += g[cell];
        }
        for (int64_t p = 0; p < length; p++) {
            float a = y[p * cols + i];
            for (int64_t cell = 0; cell < cells; cell++) a = fmaf(px->windows[cell][offsets[p]], g[cell], a);
            y[p * cols + i] = a;
        }
    }
}

#if defined(__x86_64__)
#include "kiln_simd.h"

/* The mask bytes of `count` columns (at most 16) as lanes. */
KILN_TARGET_avx512 KILN_ALWAYS_INLINE static inline __mmask16 keep_lanes(const uint8_t *keep, int64_t count) {
    if (count >= 16) {
        __m128i bytes = _mm_loadu_si128((const __m128i *)(const void *)keep);
        return _mm512_test_epi32_mask(_mm512_cvtepu8_epi32(bytes), _mm512_set1_epi32(0xff));
    }
    unsigned bits = 0;
    for (int64_t i = 0; i < count; i++) bits |= (unsigned)(keep[i] != 0) << i;
    return (__mmask16)bits;
}

/* Columns [16·first, 16·(first + vecs)) of one pooled pixel, in vecs registers a cell: the
   cells' gradients, then for each float of the windows its products with them, added to the
   sums in y. With cells and vecs constants where it is inlined, every cell's gradients and
   window start stay in registers. */
KILN_TARGET_avx512 KILN_ALWAYS_INLINE static inline void pixel_columns(const pooled_job *j, int64_t cells, int64_t vecs,
                                                                      int64_t first, const pooled_pixel *px,
                                                                      const int64_t *offsets, float *y, float *bias) {
    const int64_t cols = j->cols, length = j->length;
    const __m512 one = set1_avx512(1.0f);
    __m512 g[KILN_POOLED_CELLS][4];
    /* Each register's lanes, and whether it has all 16: its loads and stores are then whole
       (kiln_simd.h's load_part and store_part), because a load of what a masked store wrote
       is not forwarded from the store: it waits for the store to reach the cache, and the
       next pooled pixel reads every sum the last one wrote. */
    __mmask16 lanes[4];
    int whole[4];
    const float *windows[KILN_POOLED_CELLS];
    for (int64_t cell = 0; cell < cells; cell++) windows[cell] = px->windows[cell];
    for (int64_t v = 0; v < vecs; v++) {
        int64_t at = 16 * (first + v), rest = cols - at;
        whole[v] = rest >= 16;
        lanes[v] = whole[v] ? (__mmask16)0xffff : lanes_avx512(rest);
        __m512 ym = load_part_avx512(px->ym + at, whole[v], lanes[v]), count = zero_avx512();
        __mmask16 equal[KILN_POOLED_CELLS];
        for (int64_t cell = 0; cell < cells; cell++) {
            __m512 cell_map = load_part_avx512(px->maps[cell] + at, whole[v], lanes[v]);
            equal[cell] = _mm512_mask_cmp_ps_mask(lanes[v], cell_map, ym, _CMP_EQ_OQ);
            count = _mm512_mask_add_ps(count, equal[cell], count, one);
        }
        __m512 share = div_avx512(load_part_avx512(px->dy + at, whole[v], lanes[v]), count);
        __m512 sum = load_part_avx512(bias + at, whole[v], lanes[v]);
        for (int64_t cell = 0; cell < cells; cell++) {
            __mmask16 hit = equal[cell];
            if (px->keeps[cell] != NULL) hit &= keep_lanes(px->keeps[cell] + at, rest);
            g[cell][v] = _mm512_maskz_mov_ps(hit, share);
            sum = add_avx512(sum, g[cell][v]);
        }
        store_part_avx512(bias + at, whole[v], lanes[v], sum);
    }
    for (int64_t p = 0; p < length; p++) {
        float *row = y + p * cols + 16 * first;
        int64_t offset = offsets[p];
        __m512 a[4];
        for (int64_t v = 0; v < vecs; v++) a[v] = load_part_avx512(row + 16 * v, whole[v], lanes[v]);
        for (int64_t cell = 0; cell < cells; cell++) {
            __m512 x = set1_avx512(windows[cell][offset]);
            for (int64_t v = 0; v < vecs; v++) a[v] = fma_avx512(x, g[cell][v], a[v]);
        }
        for (int64_t v = 0; v < vecs; v++) store_part_avx512(row + 16 * v, whole[v], lanes[v], a[v]);
    }
}

/* One pooled pixel, four registers of columns at a time; a 2×2 pooling's four cells with
   their counts known to the compiler. */
KILN_TARGET_avx512 static void pixel_avx512(const pooled_job *j, int64_t cells, const pooled_pixel *px,
                                            const int64_t *offsets, float *y, float *bias) {
    int64_t vecs = (j->cols + 15) / 16;
    for (int64_t first = 0; first < vecs; first += 4) {
        int64_t count = vecs - first < 4 ? vecs - first : 4;
        if (cells == 4 && count == 2) pixel_columns(j, 4, 2, first, px, offsets, y, bias);
        else if (cells == 4 && count == 4) pixel_columns(j, 4, 4, first, px, offsets, y, bias);
        else if (cells == 4 && count == 1) pixel_columns(j, 4, 1, first, px, offsets, y, bias);
        else pixel_columns(j, cells, count, first, px, offsets, y, bias);
    }
}
#endif

/* Images [first, last) into y and bias (zeroed first). */
static void pooled_images(const pooled_job *j, int64_t first, int64_t last, float *y, float *bias) {
    const int64_t cols = j->cols, length = j->length, cells = j->ph * j->pw;
    const int64_t rows = j->win.oh / j->ph, columns = j->win.ow / j->pw;
    int64_t offsets[KILN_POOLED_LENGTH];
    float gathered[KILN_POOLED_GATHERED];
    pooled_pixel px;
#if defined(__x86_64__)
    const int avx512 = j->level == 2;
#endif
    if (j->in_place) {
        window_offsets(&j->win, offsets);
    } else {
        for (int64_t p = 0; p < length; p++) offsets[p] = p;
    }
    memset(y, 0, (size_t)(length * cols) * sizeof(float));
    memset(bias, 0, (size_t)cols * sizeof(float));
    for (int64_t b = first; b < last; b++) {
        const float *image = j->win.x + b * j->win.h * j->win.w * j->win.c;
        for (int64_t py = 0; py < rows; py++) {
            for (int64_t qx = 0; qx < columns; qx++) {
                int64_t at = ((b * rows + py) * columns + qx) * cols;
                px.ym = j->pooled + at;
                px.dy = j->dpooled + at;
                for (int64_t r = 0, cell = 0; r < j->ph; r++) {
                    int64_t oy = py * j->ph + r;
                    for (int64_t s = 0; s < j->pw; s++, cell++) {
                        int64_t ox = qx * j->pw + s, pixel = ((b * j->win.oh + oy) * j->win.ow + ox) * cols;
                        px.maps[cell] = j->map + pixel;
                        px.keeps[cell] = j->keep != NULL ? j->keep + pixel : NULL;
                        if (j->in_place) {
                            px.windows[cell] = image + (oy * j->win.sh * j->win.w + ox * j->win.sw) * j->win.c;
                        } else {
                            gather_window(&j->win, image, oy, ox, gathered + cell * length);
                            px.windows[cell] = gathered + cell * length;
                        }
                    }
                }
#if defined(__x86_64__)
                if (avx512) {
                    pixel_avx512(j, cells, &px, offsets, y, bias);
                    continue;
                }
#endif
                pixel_plain(j, cells, &px, offsets, y, bias);
            }
        }
    }
}

static void pooled_halves(int64_t begin, int64_t end, int64_t n, void *const *args) {
    const pooled_job *j = args[0];
    for (int64_t half = begin; half < end; half++) {
        if (half == 0) pooled_images(j, 0, j->middle, j->y, j->bias);
        else pooled_images(j, j->middle, n, j->second, j->second + j->length * j->cols);
    }
}

/* Batches of at least this many images are split between the cores. */
#define KILN_POOLED_SPLIT 2

static void pooled_run(int level, int split, int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
                       int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow,
                       float pad, const float *x, int64_t cols, const float *map, const float *pooled,
                       const float *dpooled, const uint8_t *keep, int64_t ph, int64_t pw, float *y, float *bias,
                       float *second) {
    int64_t length = kh * kw * c;
    if (length <= 0 || cols <= 0) return;
    window_job windows = {h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow, pad, x, NULL};
    pooled_job job = {windows, ph, pw, cols, length, map, pooled, dpooled, keep, windows_inside(&windows), level,
                      n / 2, y, bias, second};
    if (n < KILN_POOLED_SPLIT) {
        pooled_images(&job, 0, n, y, bias);
        return;
    }
    void *args[1] = {&job};
    if (split) kiln_parallel_for_grain(2, n, 1, pooled_halves, args);
    else pooled_halves(0, 2, n, args);
    for (int64_t i = 0; i < length * cols; i++) y[i] += second[i];
    for (int64_t i = 0; i < cols; i++) bias[i] += second[length * cols + i];
}

void kiln_pooled_filter_gradient(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh,
                                 int64_t sw, int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow,
                                 float pad, const float *x, int64_t cols, const float *map, const float *pooled,
                                 const float *dpooled, const uint8_t *keep, int64_t ph, int64_t pw, float *y,
                                 float *bias, float *second) {
    pooled_run(kiln_cpu_simd_level(), 1, n, h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow, pad, x, cols, map, pooled,
               dpooled, keep, ph, pw, y, bias, second);
}

void kiln_pooled_filter_gradient_at(int level, int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
                                    int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh,
                                    int64_t ow, float pad, const float *x, int64_t cols, const float *map,
                                    const float *pooled, const float *dpooled, const uint8_t *keep, int64_t ph,
                                    int64_t pw, float *y, float *bias, float *second) {
    int highest = kiln_cpu_simd_level();
    pooled_run(level < highest ? level : highest, 0, n, h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow, pad, x, cols,
               map, pooled, dpooled, keep, ph, pw, y, bias, second);
}
#endif
