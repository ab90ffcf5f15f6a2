/* The windows of a batch of NHWC images, shared by the kernels that read them (windows.c,
   pool_gradient.c): window (oy, ox) of an image starts at row oy*sh - top, column ox*sw - left,
   and its cell (ky, kx) lies dh*ky rows and dw*kx columns further; cells outside the image are
   `pad`. The `#include` of this file is dropped from exported C, which has its text once. */
#ifndef KILN_WINDOWS_H
#define KILN_WINDOWS_H

typedef struct {
    int64_t h, w, c, kh, kw, sh, sw, dh, dw, top, left, oh, ow;
    float pad;
    const float *x;
    float *y;
} window_job;

/* The image row (or column) of window cell k of window o, or -1 outside the image. */
static inline int64_t source(int64_t o, int64_t k, int64_t stride, int64_t dilation, int64_t low, int64_t length) {
    int64_t at = o * stride - low + k * dilation;
    return at >= 0 && at < length ? at : -1;
}

/* The window cells of window (oy, ox), window row ky (image row iy, or -1), one at a time:
   padding, dilation, or a window row that is partly outside the image. */
static inline void patches_cells(const window_job *j, const float *image, int64_t iy, int64_t ox, float *cell) {
    for (int64_t kx = 0; kx < j->kw; kx++, cell += j->c) {
        int64_t ix = source(ox, kx, j->sw, j->dw, j->left, j->w);
        if (iy < 0 || ix < 0) {
            for (int64_t k = 0; k < j->c; k++) cell[k] = j->pad;
        } else {
            const float *from = image + (iy * j->w + ix) * j->c;
            for (int64_t k = 0; k < j->c; k++) cell[k] = from[k];
        }
    }
}

#if !defined(KILN_PORTABLE)
/* Whether every window lies wholly inside its image, with no cell of padding (exported C,
   KILN_PORTABLE, gathers every window). */
static inline int windows_inside(const window_job *j) {
    return j->top == 0 && j->left == 0 && (j->oh - 1) * j->sh + (j->kh - 1) * j->dh < j->h &&
           (j->ow - 1) * j->sw + (j->kw - 1) * j->dw < j->w;
}

/* Where each cell of a window lies from its first cell, in the gathered row's order. */
static inline void window_offsets(const window_job *j, int64_t *offsets) {
    for (int64_t ky = 0, p = 0; ky < j->kh; ky++)
        for (int64_t kx = 0; kx < j->kw; kx++)
            for (int64_t k = 0; k < j->c; k++) offsets[p++] = (ky * j->dh * j->w + kx * j->dw) * j->c + k;
}
#endif

#endif
