/* KilnKernels: what the JIT needs from the runtime kernels (the generated code's side of
   the ABI is kiln_prelude.h, next to the kernels). */
#ifndef KILN_KERNELS_H
#define KILN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* A runtime symbol generated code may call, registered with TinyCC by name. */
typedef struct {
    const char *name;
    const void *address;
} kiln_symbol;

/* The symbols of the prelude: libm, memcpy/memset, cblas_sgemm and the kiln_* kernels. */
const kiln_symbol *kiln_runtime_symbols(size_t *count);

/* The text of kiln_prelude.h, NUL-terminated. */
const char *kiln_prelude_source(void);

/* The text of a source file kiln export splices into exported C: "kiln_math.h",
   "kiln_prelude.h", "layout.c", "indexing.c", "vector.c", "reduce.c", "windows.c" or
   "portable/serial.c"; NULL for another name (export_sources.c). */
const char *kiln_export_source(const char *name);

/* Loads the GEMM libraries once and chooses the one kiln_gemm calls (blas.c): the first
   of oneDNN, OpenBLAS, BLIS that loads, or the one KILN_GEMM names. OpenBLAS is required
   (it also runs one-row products). NULL on success, otherwise a message saying what failed.
   Safe to call from several threads. */
const char *kiln_blas_load(void);

/* The candidate GEMM libraries, by index 0..<count: their names, whether each loads (NULL,
   or why not), the one kiln_gemm uses (-1 if none), and c[m,n] = op(a) op(b) through one of
   them (for benchmarks). */
int kiln_gemm_library_count(void);
/* The library kiln_gemm runs a product of these sizes with: OpenBLAS for small products
   (m n k at most kiln_gemm_small_limit()), whose call costs least, unless KILN_GEMM names one. */
int kiln_gemm_library_for(int64_t m, int64_t n, int64_t k);
int64_t kiln_gemm_small_limit(void);
const char *kiln_gemm_library_name(int library);
const char *kiln_gemm_library_load(int library);
int kiln_gemm_library_chosen(void);
/* Lets a library use every core (all != 0) or returns it to kiln_gemm's setting: OpenBLAS
   runs on one thread, and kiln_gemm splits the large products it runs between the cores
   itself (for benchmarks; others unchanged). kiln_gemm_library_run runs a product through
   one library as it is, unsplit. */
void kiln_gemm_library_all_cores(int library, int all);
void kiln_gemm_library_run(int library, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                           const float *a, const float *b, float *c);
/* The product as kiln_gemm runs it through one library: OpenBLAS's large products split
   between the cores (rows of c, or columns when it has fewer rows), each part on one thread. */
void kiln_gemm_through(int library, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                       const float *a, const float *b, float *c);

/* c[m,n] = op(a) b[k,n], a [m,k] or transposed ([k,m], trans_a 1), through Kiln's own
   kernel for narrow b or short products (gemm_narrow.c), split between the cores when
   large; and whether kiln_gemm runs a product of these sizes with it (optimized builds,
   KILN_GEMM unset; the limits are blas.c's). */
void kiln_gemm_narrow(int trans_a, int64_t m, int64_t n, int64_t k, const float *a, const float *b, float *c);
/* The same with c = d + op(a) b: d is laid out as c and may be c itself (kiln_gemm_add). */
void kiln_gemm_narrow_add(int trans_a, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                          const float *d, float *c);
/* The same with c = (d + row) + op(a) b, row [n] added to every row of the product; d or
   row may be NULL (kiln_gemm_add_row). */
void kiln_gemm_narrow_add_row(int trans_a, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                              const float *d, const float *row, float *c);
int kiln_gemm_narrow_suits(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k);
/* c[i][j] = (d[i][j] + row[j]) + sums[i][j] over rows × length, d or row NULL to leave it out
   (vector.c): the additions after a product made apart, as the generated loop does them. */
void kiln_add_after_product(int64_t rows, int64_t length, const float *d, const float *row, const float *sums, float *c);
/* kiln_gemm_narrow_add_row (d and row may be NULL) on one core with the tiles of an
   instruction set (kiln_cpu_simd_level's numbering, lowered to the CPU's), for tests
   comparing them. */
void kiln_gemm_narrow_at(int level, int trans_a, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                         const float *d, const float *row, float *c);

/* c[m,n] = a b[k,n] where row i of a is read in place, element p at rows[i][offsets[p]]: a
   convolution's windows read from the image (windows.c). The same tiles, and so the same
   bits, as kiln_gemm_narrow on the gathered rows; split between the cores when large. The
   _at form runs on one core with an instruction set's tiles, for tests. */
void kiln_gemm_narrow_rows(int64_t m, int64_t n, int64_t k, const float *const *rows, const int64_t *offsets,
                           const float *b, float *c);
void kiln_gemm_narrow_rows_at(int level, int64_t m, int64_t n, int64_t k, const float *const *rows,
                              const int64_t *offsets, const float *b, float *c);
/* y[i] = relu(the maximum over a pooling window's cells of their rows · b, plus bias) for pixels
   i < `pixels`, on one core with an instruction set's tiles: cell q of pixel i is the row at
   at[i] + cell_offsets[q], read as kiln_gemm_narrow_rows reads a row (element p at offsets[p]).
   Without `start`, each maximum goes on from the one in y; without `finish`, y gets the
   maximum itself (a pixel taken in parts). */
void kiln_gemm_narrow_pool(int level, int64_t pixels, int64_t cells, int64_t n, int64_t k, const float *const *at,
                           const int64_t *cell_offsets, const int64_t *offsets, const float *b, int start, int finish,
                           const float *bias, float *y);
/* Rows [p0, p1) of c[m,n] = the transposed product Σ_i rows[i][offsets[p]] · b[i,:] over k
   windows (a filter's gradient from windows read in place), on the calling core, continuing
   c's sums when `accumulate` is set. The same sums as kiln_gemm_narrow's transposed tiles
   make of the gathered rows. The _at form takes an instruction set's tiles, for tests. */
void kiln_gemm_narrow_rows_t(int64_t p0, int64_t p1, int64_t n, int64_t k, const float *const *rows,
                             const int64_t *offsets, const float *b, int accumulate, float *c);
void kiln_gemm_narrow_rows_t_at(int level, int64_t p0, int64_t p1, int64_t n, int64_t k, const float *const *rows,
                                const int64_t *offsets, const float *b, int accumulate, float *c);

/* Where the rows of a product fold back into an image (kiln_gemm_narrow_fold): row i is window
   (i / ow, i % ow) of a kh×kw window with strides sh, sw, dilations dh, dw and padding top,
   left over an h×w image of c channels, and its column (ky·kw + kx)·c + ch goes to that
   window cell's channel ch, or nowhere when the cell lies in the padding. */
typedef struct {
    int64_t h, w, c, kh, kw, sh, sw, dh, dw, top, left, ow;
} kiln_fold_shape;
/* image += the product a[m,k] · b[k,n] folded as `shape` says, on the calling core with an
   instruction set's tiles (as kiln_gemm_narrow_at), panel by panel of b, each tile's sums
   added into the image as soon as they are made: a convolution's input gradient, without
   writing the product (kiln_gemm_fold_windows, windows.c). */
void kiln_gemm_narrow_fold(int level, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                           const kiln_fold_shape *shape, float *image);

/* The window rows of images (im2col) and their product with a matrix without writing them
   (windows.c; declared in kiln_prelude.h for generated code, here for tests). */
void kiln_patches(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                  int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, float pad,
                  const float *x, float *y);
void kiln_gemm_windows(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                       int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, float pad,
                       const float *x, int64_t cols, const float *b, float *y);
/* Rows [first, first + count) of kiln_gemm_windows' y, into y [count, cols], on the calling
   core: one chunk of a convolution's product, whose epilogue follows it while it is in the
   cache. */
void kiln_gemm_window_rows(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh,
                           int64_t sw, int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow,
                           float pad, const float *x, int64_t cols, const float *b, int64_t first, int64_t count,
                           float *y);
/* y [n, oh/ph, ow/pw, cols] = relu(the maximum over each ph×pw block of the convolution's map
   of kiln_gemm_windows' rows, plus bias): a convolution, its bias and relu, then a max
   pooling of windows the size of their strides, without writing the map. Each pixel gets the
   bits of kiln_gemm_window_rows' products, kiln_bias_relu_rows, then kiln_reduce_f32's
   maximum; split between the cores by whole pixels. */
void kiln_gemm_window_pool(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                           int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, float pad,
                           const float *x, int64_t cols, const float *b, const float *bias, int64_t ph, int64_t pw,
                           float *y);
/* y [kh*kw*c, cols] = the transpose of the rows kiln_patches would write, times dz
   [n*oh*ow, cols], without writing them: a convolution's filter gradient. `second` holds as
   many floats as y (the sums of the second half of the windows; unused when n is 0). */
void kiln_gemm_windows_t(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                         int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, float pad,
                         const float *x, int64_t cols, const float *dz, float *y, float *second);
/* y [kh*kw*c, cols] and bias [cols] = the filter and bias gradients of a convolution (windows
   as kiln_gemm_windows_t reads them) whose map [n, oh, ow, cols] went through a ReLU (keep, its
   mask, or NULL) and a max pooling of ph×pw windows the size of their strides into pooled [n,
   oh/ph, ow/pw, cols], from the pooling's gradient dpooled: the windows' transpose times, and
   the sum of, the map gradient kiln_extremum_gradient would write, which is never written.
   `second` holds kh*kw*c*cols + cols floats (the second half of the images' sums; unused for
   fewer than 2 images). Pooling windows of at most 64 cells, windows of at most 1,024 floats
   (16,384 for all the cells of a padded pooling window), at most 256 filters. */
void kiln_pooled_filter_gradient(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh,
                                 int64_t sw, int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow,
                                 float pad, const float *x, int64_t cols, const float *map, const float *pooled,
                                 const float *dpooled, const uint8_t *keep, int64_t ph, int64_t pw, float *y,
                                 float *bias, float *second);
/* The same on the calling core with an instruction set (0 plain C, 1 AVX2, 2 AVX-512; at most
   the CPU's): every set gives the same bits. */
void kiln_pooled_filter_gradient_at(int level, int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
                                    int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh,
                                    int64_t ow, float pad, const float *x, int64_t cols, const float *map,
                                    const float *pooled, const float *dpooled, const uint8_t *keep, int64_t ph,
                                    int64_t pw, float *y, float *bias, float *second);
/* y [n, h, w, c] = the rows dz · bᵀ (dz [n*oh*ow, cols], b [kh*kw*c, cols]) folded into
   images as kiln_fold_patches folds rows, without writing them: a convolution's input
   gradient. `scratch` holds n*oh*ow*kh*kw*c floats. */
void kiln_gemm_fold_windows(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                            int64_t dh, int64_t dw, int64_t top, int64_t left, int64_t oh, int64_t ow, int64_t cols,
                            const float *dz, const float *b, float *scratch, float *y);

/* The core type OpenBLAS chose, e.g. "SkylakeX" or "Haswell"; "unknown" if not loaded. */
const char *kiln_blas_core_name(void);

/* c[n] = a[k] b[k,n] (one row times a row-major matrix), split between the cores when b is
   large (64 KiB or more; gemv.c): kiln_gemm's one-row products. */
void kiln_gemv(int64_t k, int64_t n, const float *a, const float *b, float *c);
/* kiln_gemv on one core with an instruction set's variant, as kiln_gemm_narrow_at. */
void kiln_gemv_at(int level, int64_t k, int64_t n, const float *a, const float *b, float *c);
/* kiln_bias_relu_rows (vector.c) with an instruction set's variant, as kiln_gemv_at: 2 AVX-512,
   1 AVX2, 0 plain C (at most the CPU's own). */
void kiln_bias_relu_rows_at(int level, int64_t rows, int64_t length, const float *x, const float *bias, float *y,
                            uint8_t *mask);

/* The widest vectors the kernels use (cpu.c): 2 AVX-512, 1 AVX2 with FMA, 0 neither (plain C),
   found once; the environment variable KILN_SIMD=avx2 or none lowers it. */
int kiln_cpu_simd_level(void);


/* A matrix product's sizes and operands, for the parts of a product split between the cores
   (gemv.c, gemm_narrow.c). */
typedef struct {
    int64_t n, k;
    const float *a, *b;
    float *c;
} kiln_product_job;

/* kiln_parallel_for in parts of whole `grain`s (parallel.c); the part type is the prelude's. */
typedef void (*kiln_part_fn)(int64_t begin, int64_t end, int64_t n, void *const *args);
void kiln_parallel_for_grain(int64_t total, int64_t n, int64_t grain, kiln_part_fn body, void *const *args);

/* y's rows are rows order[0], ..., order[count - 1] of x, each `row_bytes` long (a shuffled
   batch of a data set), copied on every core for a large batch (rows.c). */
void kiln_gather_rows(int64_t count, int64_t row_bytes, const int64_t *order, const void *x, void *y);

/* The machine's measured peak in GFLOP/s: single-precision FMAs on the widest vectors, from
   registers, on `threads` threads at once (every core when threads < 1), for about `seconds`
   (peak.c). */
double kiln_peak_gflops(int threads, double seconds);
/* The measured rate of reading memory that stays in the cores' caches, in GB/s: `bytes`
   split between `threads` threads (every core when < 1), each reading its share again and
   again for about `seconds` (peak.c). The least time one pass over that many bytes can take
   is bytes / (this × 1e9). */
double kiln_peak_read_gbps(int threads, int64_t bytes, double seconds);

/* Sets the calling thread's floating-point mode to flush denormal results and operands to
   zero (on x86-64; elsewhere nothing) and returns the previous mode for
   kiln_restore_float_mode. Optimizer state decays into the denormal range, where every
   operation costs a hundred cycles. */
unsigned kiln_flush_denormals(void);
void kiln_restore_float_mode(unsigned mode);

/* OpenBLAS's row-major SGEMM, for callers that want it without generated code (benchmarks);
   call kiln_blas_load first. */
void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc);

#endif
