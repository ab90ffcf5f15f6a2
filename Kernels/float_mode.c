#include "KilnKernels.h"

#if defined(__x86_64__)
#include <xmmintrin.h>

unsigned kiln_flush_denormals(void) {
    unsigned previous = _mm_getcsr();
    _mm_setcsr(previous | 0x8040u); /* FTZ (bit 15) and DAZ (bit 6) */
    return previous;
}

void kiln_restore_float_mode(unsigned mode) { _mm_setcsr(mode); }
#else
unsigned kiln_flush_denormals(void) { return 0; }
void kiln_restore_float_mode(unsigned mode) { (void)mode; }
#endif
