/* The GEMM libraries, loaded at run time, and the one choice of which kiln_gemm calls.

   Candidates, in the order Kiln prefers them (the order `kiln bench gemm` measured; see
   README.md, "Choosing the GEMM library"):

     onednn    oneDNN's dnnl_sgemm (Debian libdnnl-dev), OpenMP threads
     openblas  OpenBLAS's cblas_sgemm (libopenblas-dev), on one thread; kiln_gemm splits its large
               products between the cores on libgomp's threads (library_gemm_beta)
     blis      BLIS's cblas_sgemm (libblis-dev)

   The first that loads is used, except that small products (KILN_SMALL_GEMM) go to OpenBLAS,
   whose call costs least; KILN_GEMM=onednn|openblas|blis picks one by name for every product.
   OpenBLAS is also the matrix-vector product of one-row inputs, so it is required; the others are
   optional, and a missing one is skipped. Libraries are loaded with dlopen rather than
   linked so that a missing one is a thrown error or a fallback, never a process that fails
   to start, and so that OpenBLAS's core type can be chosen before it initialises. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <unistd.h>

typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int,
                               float, float *, int);
typedef void (*cblas_sgemv_fn)(int, int, int, int, float, const float *, int, const float *, int, float, float *, int);
typedef int (*dnnl_sgemm_fn)(char, char, int64_t, int64_t, int64_t, float, const float *, int64_t,
                             const float *, int64_t, float, float *, int64_t);
typedef char *(*corename_fn)(void);

enum { ONEDNN, OPENBLAS, BLIS, LIBRARY_COUNT };

typedef struct {
    const char *name;
    const char *sonames[2];
    const char *package;
    int bootstrapped;  /* tools/bootstrap installs the package (BLIS is only measured when present) */
    pthread_once_t once;
    void *handle;
    char error[512];
    cblas_sgemm_fn cblas_sgemm;  /* OpenBLAS, BLIS */
    dnnl_sgemm_fn dnnl_sgemm;    /* oneDNN */
} library;

static library libraries[LIBRARY_COUNT] = {
    [ONEDNN] = {"onednn", {"libdnnl.so.2", "libdnnl.so"}, "libdnnl-dev", 1, PTHREAD_ONCE_INIT},
    [OPENBLAS] = {"openblas", {"libopenblas.so.0", "libopenblas.so"}, "libopenblas-dev", 1, PTHREAD_ONCE_INIT},
    [BLIS] = {"blis", {"libblis.so.4", "libblis.so"}, "libblis-dev", 0, PTHREAD_ONCE_INIT},
};

static cblas_sgemv_fn openblas_sgemv;
static corename_fn openblas_corename;

static int has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")
        && __builtin_cpu_supports("avx512cd");
#else
    return 0;
#endif
}

/* The cores online (at least 1). */
static int core_count(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return cores > 0 ? (int)cores : 1;
}

/* Tells OpenBLAS how many threads to run products on, if it is loaded and can be told. */
static void openblas_threads(int threads) {
    typedef void (*set_threads_fn)(int);
    if (libraries[OPENBLAS].handle == NULL) return;
    set_threads_fn set_threads = (set_threads_fn)dlsym(libraries[OPENBLAS].handle, "openblas_set_num_threads");
    if (set_threads != NULL) set_threads(threads);
}

static void *open_library(library *lib) {
    void *handle = NULL;
    for (size_t i = 0; i < 2 && handle == NULL; i++) handle = dlopen(lib->sonames[i], RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) {
        snprintf(lib->error, sizeof lib->error, "cannot load %s (%s): %s; %s %s", lib->name, lib->sonames[0], dlerror(),
                 lib->bootstrapped ? "tools/bootstrap installs it: package" : "to measure it, install package", lib->package);
    }
    return handle;
}

static void load_onednn(void) {
    library *lib = &libraries[ONEDNN];
    if ((lib->handle = open_library(lib)) == NULL) return;
    lib->dnnl_sgemm = (dnnl_sgemm_fn)dlsym(lib->handle, "dnnl_sgemm");
    if (lib->dnnl_sgemm == NULL) snprintf(lib->error, sizeof lib->error, "oneDNN has no dnnl_sgemm");
}

static void load_openblas(void) {
    library *lib = &libraries[OPENBLAS];
    /* Debian's OpenBLAS 0.3.21 does not recognise recent AMD cores and would use its AVX2
       kernels; it reads OPENBLAS_CORETYPE once, when the library initialises. */
    if (has_avx512() && getenv("OPENBLAS_CORETYPE") == NULL) setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
    if ((lib->handle = open_library(lib)) == NULL) return;
    lib->cblas_sgemm = (cblas_sgemm_fn)dlsym(lib->handle, "cblas_sgemm");
    openblas_sgemv = (cblas_sgemv_fn)dlsym(lib->handle, "cblas_sgemv");
    openblas_corename = (corename_fn)dlsym(lib->handle, "openblas_get_corename");
    if (lib->cblas_sgemm == NULL || openblas_sgemv == NULL) {
        snprintf(lib->error, sizeof lib->error, "OpenBLAS has no cblas_sgemm or cblas_sgemv");
        lib->cblas_sgemm = NULL;
    }
}

static void load_blis(void) {
    library *lib = &libraries[BLIS];
    if ((lib->handle = open_library(lib)) == NULL) return;
    lib->cblas_sgemm = (cblas_sgemm_fn)dlsym(lib->handle, "cblas_sgemm");
    typedef void (*set_threads_fn)(long);
    set_threads_fn set_threads = (set_threads_fn)dlsym(lib->handle, "bli_thread_set_num_threads");
    /* BLIS runs on one thread unless told; give it every core, as the others take. */
    if (set_threads != NULL && getenv("BLIS_NUM_THREADS") == NULL) set_threads(core_count());
    if (lib->cblas_sgemm == NULL) snprintf(lib->error, sizeof lib->error, "BLIS has no cblas_sgemm");
}

static void (*const loaders[LIBRARY_COUNT])(void) = {[ONEDNN] = load_onednn, [OPENBLAS] = load_openblas, [BLIS] = load_blis};

static int usable(int index) {
    if (index < 0 || index >= LIBRARY_COUNT) return 0;
    library *lib = &libraries[index];
    pthread_once(&lib->once, loaders[index]);
    return lib->cblas_sgemm != NULL || lib->dnnl_sgemm != NULL;
}

/* Products of at most this many multiply-adds go to OpenBLAS even when oneDNN is chosen:
   its call costs a fraction of a microsecond, oneDNN's several times that, and below this
   size the call is most of the time (`kiln bench gemm`: a tabular step's eight products
   take 1.2 µs through OpenBLAS, 3.5 µs through oneDNN). */
#define KILN_SMALL_GEMM 262144

/* c = op(a) op(b) + beta c (beta 0 or 1) through one library on the calling thread (or on
   oneDNN's), with the leading dimensions given; sizes are positive. */
static void library_call(int index, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                         int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    library *lib = &libraries[index];
    if (lib->dnnl_sgemm != NULL) {
        lib->dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
    } else {
        lib->cblas_sgemm(101, trans_a ? 112 : 111, trans_b ? 112 : 111, (int)m, (int)n, (int)k, 1.0f,
                         a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
    }
}

/* The same with dense operands: leading dimensions those of op(a) [m,k], op(b) [k,n], c [m,n]. */
static void library_whole(int index, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a,
                          const float *b, float beta, float *c) {
    library_call(index, trans_a, trans_b, m, n, k, a, trans_a ? m : k, b, trans_b ? k : n, beta, c, n);
}

/* One part of a product split between the cores: rows [begin, end) of c, or its columns. */
typedef struct {
    int index, trans_a, trans_b, by_rows;
    int64_t m, n, k;
    const float *a, *b;
    float beta;
    float *c;
} split_job;

static void split_part(int64_t begin, int64_t end, int64_t unused, void *const *args) {
    (void)unused;
    const split_job *job = args[0];
    int64_t lda = job->trans_a ? job->m : job->k, ldb = job->trans_b ? job->k : job->n;
    if (job->by_rows) {
        const float *a = job->trans_a ? job->a + begin : job->a + begin * job->k;
        library_call(job->index, job->trans_a, job->trans_b, end - begin, job->n, job->k, a, lda, job->b, ldb,
                     job->beta, job->c + begin * job->n, job->n);
    } else {
        const float *b = job->trans_b ? job->b + begin * job->k : job->b + begin;
        library_call(job->index, job->trans_a, job->trans_b, job->m, end - begin, job->k, job->a, lda, b, ldb,
                     job->beta, job->c + begin, job->n);
    }
}

/* Parts of a split product are whole multiples of this many rows or columns (a cache line
   of floats). */
#define KILN_SPLIT_GRAIN 16

/* c = op(a) op(b) + beta c (beta 0 or 1) through one library; sizes are positive. OpenBLAS
   runs on the calling thread (see choose), so a product it runs for kiln_gemm is split between
   the cores here, along c's rows or, when it has fewer rows than columns, its columns, on
   libgomp's threads: the ones oneDNN and the parallel loops run on. Two pools of threads, each
   spinning while it waits, would share two cores: with OpenBLAS's own threads running the
   products of a 784-256-128-10 training step, it trained at 11-42k samples/s instead of
   142-152k (2-core AMD EPYC, family 25 model 17; README.md, "Choosing the GEMM library"). */
static void library_gemm_beta(int index, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                              const float *a, const float *b, float beta, float *c) {
    int by_rows = m >= n;
    int64_t extent = by_rows ? m : n;
    if (index != OPENBLAS || m * n * k <= KILN_SMALL_GEMM || extent < 2 * KILN_SPLIT_GRAIN) {
        library_whole(index, trans_a, trans_b, m, n, k, a, b, beta, c);
        return;
    }
    split_job job = {index, trans_a, trans_b, by_rows, m, n, k, a, b, beta, c};
    void *args[1] = {&job};
    kiln_parallel_for_grain(extent, 0, KILN_SPLIT_GRAIN, split_part, args);
}

/* c = op(a) op(b) through one library. */
static void library_gemm(int index, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                         const float *a, const float *b, float *c) {
    library_gemm_beta(index, trans_a, trans_b, m, n, k, a, b, 0.0f, c);
}

static pthread_once_t choice_once = PTHREAD_ONCE_INIT;
static int chosen = -1;
static int explicit_choice; /* KILN_GEMM named the library: it runs every product */
static char choice_error[1024];

/* The library KILN_GEMM names, or -1 with choice_error saying why not. */
static int named_library(const char *wanted) {
    for (int i = 0; i < LIBRARY_COUNT; i++) {
        if (strcasecmp(wanted, libraries[i].name) != 0) continue;
        if (usable(i)) return i;
        snprintf(choice_error, sizeof choice_error, "KILN_GEMM=%s: %s", wanted, libraries[i].error);
        return -1;
    }
    snprintf(choice_error, sizeof choice_error, "KILN_GEMM=%s names no GEMM library; the choices are onednn, openblas, blis",
             wanted);
    return -1;
}

static void choose(void) {
    const char *wanted = getenv("KILN_GEMM");
    int named = wanted != NULL && *wanted != 0;
    /* OpenBLAS runs every product on the calling thread: told before it starts, it starts no
       worker threads, which would otherwise spin between calls (sched_yield) on the cores
       oneDNN's threads and the parallel loops need. When it runs the large products, they
       are split between the cores on those threads (library_gemm_beta). */
    setenv("OPENBLAS_NUM_THREADS", "1", 0);
    if (!usable(OPENBLAS)) {
        snprintf(choice_error, sizeof choice_error, "%s", libraries[OPENBLAS].error);
        return;
    }
    if (named) {
        chosen = named_library(wanted);
        explicit_choice = 1;
    } else {
        for (int i = 0; i < LIBRARY_COUNT && chosen < 0; i++) {
            if (usable(i)) chosen = i;
        }
    }
    /* The same when OpenBLAS had loaded before (kiln_gemm_library_load), or was told
       otherwise by OPENBLAS_NUM_THREADS. */
    if (chosen >= 0) openblas_threads(1);
}

const char *kiln_blas_load(void) {
    pthread_once(&choice_once, choose);
    return chosen >= 0 ? NULL : choice_error;
}

const char *kiln_blas_core_name(void) {
    if (!usable(OPENBLAS) || openblas_corename == NULL) return "unknown";
    return openblas_corename();
}

int64_t kiln_gemm_small_limit(void) { return KILN_SMALL_GEMM; }

/* Products Kiln's own kernel (gemm_narrow.c) runs unless KILN_GEMM names a library, by
   `kiln bench gemm`:
   - neither transposed, with b at most this narrow and this deep: level with the best
     library on the convolutions' and small layers' products at batch 128, and faster on short
     ones (one image), where the libraries' packing is most of the call;
   - neither transposed, of at most KILN_OWN_SHORT multiply-adds, however wide b: a
     recurrent layer's h·U on half a batch ([32,64]·[64,256]) on one core, 6.8 µs against
     7.8 (oneDNN) and 7.4 (OpenBLAS);
   - a transposed, at most KILN_OWN_TRANSPOSED_DEPTH deep and KILN_OWN_TRANSPOSED
     multiply-adds: the weight gradients of a loop step (hᵀ·dz, [32,64]ᵀ·[32,256]: 7.5 µs
     against 9.0 and 8.1) and of small layers ([128,128]ᵀ·[128,10]: 3.9 against 4.9 and 4.2);
     larger ones are faster through oneDNN.
   Only in optimized builds: compiled without optimization it is 40 times slower. */
#define KILN_NARROW_WIDTH 64
#define KILN_NARROW_DEPTH 1024
#define KILN_OWN_SHORT (1 << 20)
#define KILN_OWN_TRANSPOSED_DEPTH 128
#define KILN_OWN_TRANSPOSED (1 << 21)

int kiln_gemm_narrow_suits(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k) {
#if defined(__OPTIMIZE__)
    if (trans_b || m <= 1 || explicit_choice || kiln_blas_load() != NULL) return 0;
    if (trans_a) return k <= KILN_OWN_TRANSPOSED_DEPTH && m * n * k <= KILN_OWN_TRANSPOSED;
    return (n <= KILN_NARROW_WIDTH && k <= KILN_NARROW_DEPTH) || m * n * k <= KILN_OWN_SHORT;
#else
    (void)trans_a, (void)trans_b, (void)m, (void)n, (void)k;
    return 0;
#endif
}

/* The library kiln_gemm runs a product with, once chosen. */
static int library_for(int64_t m, int64_t n, int64_t k) {
    return !explicit_choice && m * n * k <= KILN_SMALL_GEMM ? OPENBLAS : chosen;
}

int kiln_gemm_library_for(int64_t m, int64_t n, int64_t k) {
    return kiln_blas_load() == NULL ? library_for(m, n, k) : -1;
}

int kiln_gemm_library_count(void) { return LIBRARY_COUNT; }

const char *kiln_gemm_library_name(int index) {
    return index >= 0 && index < LIBRARY_COUNT ? libraries[index].name : "none";
}

const char *kiln_gemm_library_load(int index) {
    if (index < 0 || index >= LIBRARY_COUNT) return "no such GEMM library";
    return usable(index) ? NULL : libraries[index].error;
}

int kiln_gemm_library_chosen(void) { return kiln_blas_load() == NULL ? chosen : -1; }

void kiln_gemm_library_all_cores(int index, int all) {
    if (index != OPENBLAS || kiln_blas_load() != NULL) return;
    /* kiln_gemm's own setting is one thread: it splits OpenBLAS's large products itself. */
    openblas_threads(all ? core_count() : 1);
}

/* Handles a product with no elements (nothing to write) or no terms (zeros); 1 if it did. */
static int empty_product(int64_t m, int64_t n, int64_t k, float *c) {
    if (m <= 0 || n <= 0) return 1;
    if (k > 0) return 0;
    memset(c, 0, (size_t)(m * n) * sizeof(float));
    return 1;
}

void kiln_gemm_library_run(int index, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                           const float *a, const float *b, float *c) {
    if (!usable(index) || empty_product(m, n, k, c)) return;
    /* The library as it is, on its own threads (kiln_gemm_library_all_cores), unsplit. */
    library_whole(index, trans_a, trans_b, m, n, k, a, b, 0.0f, c);
}

void kiln_gemm_through(int index, int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                       const float *a, const float *b, float *c) {
    if (!usable(index) || empty_product(m, n, k, c)) return;
    library_gemm(index, trans_a, trans_b, m, n, k, a, b, c);
}

void cblas_sgemm(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                 const float *a, int lda, const float *b, int ldb, float beta, float *c, int ldc) {
    libraries[OPENBLAS].cblas_sgemm(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

void kiln_gemm(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
               const float *a, const float *b, float *c) {
    if (empty_product(m, n, k, c)) return;
    if (m == 1 && n > 1) {
        /* One row (a single-sample forward pass): a matrix-vector product, without packing
           the matrix; a is a contiguous vector either way. Kiln's own streams b row by row
           (gemv.c); OpenBLAS's takes b transposed (dot products along its rows), and runs
           every one-row product when KILN_GEMM names a library. */
        if (trans_b) {
            openblas_sgemv(101, 111, (int)n, (int)k, 1.0f, b, (int)k, a, 1, 0.0f, c, 1);
        } else if (explicit_choice) {
            openblas_sgemv(101, 112, (int)k, (int)n, 1.0f, b, (int)n, a, 1, 0.0f, c, 1);
        } else {
            kiln_gemv(k, n, a, b, c);
        }
        return;
    }
    if (kiln_gemm_narrow_suits(trans_a, trans_b, m, n, k)) {
        kiln_gemm_narrow(trans_a, m, n, k, a, b, c);
        return;
    }
    library_gemm(library_for(m, n, k), trans_a, trans_b, m, n, k, a, b, c);
}

void kiln_gemm_add(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k,
                   const float *a, const float *b, const float *d, float *c) {
    if (m <= 0 || n <= 0) return;
    if (k > 0 && kiln_gemm_narrow_suits(trans_a, trans_b, m, n, k)) {
        /* Kiln's own kernel adds d to each tile's sums as it stores them. */
        kiln_gemm_narrow_add(trans_a, m, n, k, a, b, d, c);
        return;
    }
    if (d != c) memcpy(c, d, (size_t)(m * n) * sizeof(float));
    if (k > 0) library_gemm_beta(library_for(m, n, k), trans_a, trans_b, m, n, k, a, b, 1.0f, c);
}

/* The additions of kiln_gemm_add_row after a product made apart: rows [begin, end) of c. */
typedef struct {
    const float *d, *row, *sums;
    float *c;
    int64_t n;
} addition_job;

static void add_after_part(int64_t begin, int64_t end, int64_t m, void *const *args) {
    (void)m;
    const addition_job *job = args[0];
    const int64_t n = job->n;
    kiln_add_after_product(end - begin, n, job->d != NULL ? job->d + begin * n : NULL, job->row, job->sums + begin * n,
                           job->c + begin * n);
}

/* Products of at least this many elements have their additions split between the cores, as
   a generated loop splits them. */
#define KILN_ADD_SPLIT 65536

void kiln_gemm_add_row(int trans_a, int trans_b, int64_t m, int64_t n, int64_t k, const float *a, const float *b,
                       const float *d, const float *row, float *product, float *c) {
    if (m <= 0 || n <= 0) return;
    if (k > 0 && kiln_gemm_narrow_suits(trans_a, trans_b, m, n, k)) {
        /* Kiln's own kernel adds d and the row to each tile's sums as it stores them. */
        kiln_gemm_narrow_add_row(trans_a, m, n, k, a, b, d, row, c);
        return;
    }
    /* Otherwise the product as kiln_gemm makes it, then one pass adding it, with the bits of
       the loop that would follow the product. */
    kiln_gemm(trans_a, trans_b, m, n, k, a, b, product);
    addition_job job = {d, row, product, c, n};
    void *args[1] = {&job};
    if (m * n >= KILN_ADD_SPLIT) {
        kiln_parallel_for_grain(m, m, 1, add_after_part, args);
    } else {
        add_after_part(0, m, m, args);
    }
}
