/* Extended FP state (AVX ymm registers) survives a signal handler that
 * clobbers it: the sentry must save and restore the whole xsave area. */
#include "common.h"
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

static void handler(int sig) {
    (void)sig;
    /* Clobber ymm8 and an SSE register inside the handler. */
    __asm__ volatile("vpcmpeqd %%ymm8, %%ymm8, %%ymm8\n\t"
                     "pcmpeqd %%xmm9, %%xmm9" ::: "xmm8", "xmm9");
}

int main(void) {
    setup();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0);
    unsigned char in[32], out[32], in9[16], out9[16];
    for (int i = 0; i < 32; i++) in[i] = (unsigned char)(i * 7 + 1);
    for (int i = 0; i < 16; i++) in9[i] = (unsigned char)(i * 3 + 5);
    long pid = getpid(), tid = syscall(SYS_gettid);
    long rax = SYS_tgkill;
    __asm__ volatile("vmovdqu (%[in]), %%ymm8\n\t"
                     "movdqu (%[in9]), %%xmm9\n\t"
                     "syscall\n\t"
                     "vmovdqu %%ymm8, (%[out])\n\t"
                     "movdqu %%xmm9, (%[out9])"
                     : "+a"(rax)
                     : [in] "r"(in), [out] "r"(out), [in9] "r"(in9), [out9] "r"(out9), "D"(pid), "S"(tid),
                       "d"((long)SIGUSR1)
                     : "rcx", "r11", "memory", "xmm8", "xmm9");
    printf("tgkill returned %ld\n", rax);
    printf("ymm8 preserved across handler: %s\n", yesno(memcmp(in, out, 32) == 0));
    printf("xmm9 preserved across handler: %s\n", yesno(memcmp(in9, out9, 16) == 0));
    return 0;
}
