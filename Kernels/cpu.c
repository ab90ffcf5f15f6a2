/* What the CPU can run, asked once per process. */
#include "include/KilnKernels.h"

#include <stdlib.h>
#include <string.h>

int kiln_cpu_simd_level(void) {
#if defined(__x86_64__)
    static int known = -1;
    if (known < 0) {
        __builtin_cpu_init();
        int level = __builtin_cpu_supports("avx512f") ? 2
                    : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 1
                                                                                      : 0;
        /* KILN_SIMD=avx2 or KILN_SIMD=none runs the kernels' narrower variants on a CPU that
           has wider ones, to compare them; it never raises the level. */
        const char *wanted = getenv("KILN_SIMD");
        if (wanted != NULL && strcmp(wanted, "avx2") == 0 && level > 1) level = 1;
        if (wanted != NULL && strcmp(wanted, "none") == 0) level = 0;
        known = level;
    }
    return known;
#else
    return 0;
#endif
}
