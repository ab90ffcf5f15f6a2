/* zlib (Debian's zlib1g-dev), the only place it is imported. inflateInit2 is a macro, which
   Swift cannot call, so it is wrapped here. */
#include <zlib.h>

static inline int kiln_inflate_init(z_streamp stream, int window_bits) {
    return inflateInit2(stream, window_bits);
}

