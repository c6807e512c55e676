/* uname fields exist (release is deliberately not compared: the sandbox
 * reports its own kernel version). */
#include "common.h"
#include <sys/utsname.h>

int main(void) {
    setup();
    struct utsname u;
    CHECK(uname(&u) == 0);
    printf("sysname: %s\n", u.sysname);
    printf("machine: %s\n", u.machine);
    printf("nodename nonempty: %s\n", yesno(u.nodename[0] != 0));
    printf("release nonempty: %s\n", yesno(u.release[0] != 0));
    int maj = 0, min = 0;
    printf("release parses as X.Y with X>=3: %s\n", yesno(sscanf(u.release, "%d.%d", &maj, &min) == 2 && maj >= 3));
    printf("version nonempty: %s\n", yesno(u.version[0] != 0));
    printf("fields NUL-terminated: %s\n",
           yesno(memchr(u.sysname, 0, sizeof u.sysname) && memchr(u.release, 0, sizeof u.release) &&
              memchr(u.domainname, 0, sizeof u.domainname)));
    char host[256];
    CHECK(gethostname(host, sizeof host) == 0);
    printf("gethostname matches nodename: %s\n", yesno(strcmp(host, u.nodename) == 0));
    report("uname bad pointer", syscall(SYS_uname, (void *)8));
    return 0;
}
