/* NULL dereference: the process dies of SIGSEGV (exit status 139 via a shell). */
#include "common.h"

int main(void) {
    setup();
    no_core();
    printf("about to dereference NULL\n");
    fflush(stdout);
    volatile int *p = NULL;
    *p = 42;
    printf("still alive?!\n");
    return 0;
}
