/* An unimplemented system call number returns -1 ENOSYS and the program keeps
 * running. */
#include "common.h"

int main(void) {
    setup();
    errno = 0;
    long r = syscall(436 + 100);
    printf("syscall(536) = %ld errno=%s\n", r, errname(errno));
    errno = 0;
    r = syscall(100000);
    printf("syscall(100000) = %ld errno=%s\n", r, errname(errno));
    /* Negative numbers are -ENOSYS as well. */
    errno = 0;
    r = syscall(-1);
    printf("syscall(-1) = %ld errno=%s\n", r, errname(errno));
    printf("alive\n");
    return 0;
}
