/* Debian's libtcc (package libtcc-dev): a static library, linked with dl and pthread. */
#include <libtcc.h>
