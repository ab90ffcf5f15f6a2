/* The texts kiln export splices into exported C: the elementary functions, the prelude, and
   the kernel files whose portable parts (KILN_PORTABLE) run anywhere C99 does. */
#include "include/KilnKernels.h"

#include <string.h>

#pragma clang diagnostic ignored "-Wc23-extensions"
static const char math_source[] = {
#embed "kiln_math.h"
    , 0};
static const char prelude_source[] = {
#embed "kiln_prelude.h"
    , 0};
static const char vectorize_source[] = {
#embed "kiln_vectorize.h"
    , 0};
static const char copy_source[] = {
#embed "kiln_copy.h"
    , 0};
static const char windows_header_source[] = {
#embed "kiln_windows.h"
    , 0};
static const char layout_source[] = {
#embed "layout.c"
    , 0};
static const char indexing_source[] = {
#embed "indexing.c"
    , 0};
static const char vector_source[] = {
#embed "vector.c"
    , 0};
static const char reduce_source[] = {
#embed "reduce.c"
    , 0};
static const char windows_source[] = {
#embed "windows.c"
    , 0};
static const char serial_source[] = {
#embed "portable/serial.c"
    , 0};

const char *kiln_export_source(const char *name) {
    static const struct {
        const char *name;
        const char *text;
    } files[] = {
        {"kiln_math.h", math_source}, {"kiln_prelude.h", prelude_source}, {"kiln_vectorize.h", vectorize_source},
        {"kiln_copy.h", copy_source}, {"kiln_windows.h", windows_header_source}, {"layout.c", layout_source},
        {"indexing.c", indexing_source}, {"vector.c", vector_source}, {"reduce.c", reduce_source},
        {"windows.c", windows_source},
        {"portable/serial.c", serial_source},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (strcmp(files[i].name, name) == 0) return files[i].text;
    }
    return NULL;
}
