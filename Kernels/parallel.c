/* kiln_parallel_for: a large elementwise loop run in parts on every core.

   The parts run on the OpenMP threads of libgomp, the runtime oneDNN's GEMMs already use,
   so the loop that follows a GEMM finds its threads awake and no second pool competes with
   them for the cores. Without libgomp the loop runs on the calling thread, and so does a loop
   started inside a part (a product in one half of a recurrent layer's batch), whose team
   would be the one thread anyway. Each part flushes denormals as the calling thread does, so
   every element gets the same bits wherever it runs. */
#include "kiln_prelude.h"
#include "include/KilnKernels.h"

#include <dlfcn.h>
#include <pthread.h>

typedef void (*gomp_parallel_fn)(void (*)(void *), void *, unsigned, unsigned);
typedef int (*omp_int_fn)(void);

static pthread_once_t gomp_once = PTHREAD_ONCE_INIT;
static gomp_parallel_fn gomp_parallel;
static omp_int_fn omp_thread_num, omp_thread_count, omp_max_threads, omp_in_parallel;

static void load_gomp(void) {
    void *handle = dlopen("libgomp.so.1", RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL) return;
    gomp_parallel_fn parallel = (gomp_parallel_fn)dlsym(handle, "GOMP_parallel");
    omp_thread_num = (omp_int_fn)dlsym(handle, "omp_get_thread_num");
    omp_thread_count = (omp_int_fn)dlsym(handle, "omp_get_num_threads");
    omp_max_threads = (omp_int_fn)dlsym(handle, "omp_get_max_threads");
    omp_in_parallel = (omp_int_fn)dlsym(handle, "omp_in_parallel");
    if (omp_thread_num != NULL && omp_thread_count != NULL && omp_max_threads != NULL && omp_in_parallel != NULL)
        gomp_parallel = parallel;
}

typedef struct {
    int64_t total, n, grain;
    kiln_part_fn body;
    void *const *args;
} job;

static void run_part(void *data) {
    const job *work = data;
    int64_t blocks = (work->total + work->grain - 1) / work->grain;
    int64_t t = omp_thread_num(), count = omp_thread_count();
    int64_t begin = blocks * t / count * work->grain, end = blocks * (t + 1) / count * work->grain;
    if (end > work->total) end = work->total;
    if (begin >= end) return;
    unsigned mode = kiln_flush_denormals();
    work->body(begin, end, work->n, work->args);
    kiln_restore_float_mode(mode);
}

void kiln_parallel_for_grain(int64_t total, int64_t n, int64_t grain, kiln_part_fn body, void *const *args) {
    pthread_once(&gomp_once, load_gomp);
    if (gomp_parallel == NULL || total < 2 * grain || omp_max_threads() < 2 || omp_in_parallel()) {
        body(0, total, n, args);
        return;
    }
    job work = {total, n, grain, body, args};
    gomp_parallel(run_part, &work, 0, 0);
}

void kiln_parallel_for(int64_t total, int64_t n, kiln_part_fn body, void *const *args) {
    kiln_parallel_for_grain(total, n, KILN_BLOCK, body, args);
}
