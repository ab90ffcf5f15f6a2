/* What the CPU can run, asked once per process. */
#include "include/KilnKernels.h"

int kiln_cpu_has_avx512f(void) {
#if defined(__x86_64__)
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    return known;
#else
    return 0;
#endif
}
