/* A barrier built directly on futex(2), plus FUTEX_WAIT timeout and EAGAIN. */
#include "common.h"
#include <linux/futex.h>
#include <pthread.h>

#define NT 6
#define ROUNDS 50

static int futex(int *uaddr, int op, int val, const struct timespec *ts) {
    return (int)syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

static int arrived, generation;
static int round_sum[ROUNDS];

static void barrier_wait(void) {
    int gen = __atomic_load_n(&generation, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&arrived, 1, __ATOMIC_ACQ_REL) == NT) {
        __atomic_store_n(&arrived, 0, __ATOMIC_RELAXED);
        __atomic_add_fetch(&generation, 1, __ATOMIC_RELEASE);
        futex(&generation, FUTEX_WAKE_PRIVATE, NT, NULL);
        return;
    }
    while (__atomic_load_n(&generation, __ATOMIC_ACQUIRE) == gen)
        futex(&generation, FUTEX_WAIT_PRIVATE, gen, NULL);
}

static void *worker(void *arg) {
    long id = (long)arg;
    for (int r = 0; r < ROUNDS; r++) {
        __atomic_add_fetch(&round_sum[r], (int)id + 1, __ATOMIC_RELAXED);
        barrier_wait();
        /* After the barrier every thread must see the complete round sum. */
        if (__atomic_load_n(&round_sum[r], __ATOMIC_RELAXED) != NT * (NT + 1) / 2)
            return (void *)1;
        barrier_wait();
    }
    return NULL;
}

int main(void) {
    setup();
    pthread_t t[NT];
    for (long i = 0; i < NT; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
    int bad = 0;
    for (int i = 0; i < NT; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad += r != NULL;
    }
    printf("barrier rounds=%d threads=%d violations=%d generation=%d\n", ROUNDS, NT, bad, generation);

    int word = 1;
    report("FUTEX_WAIT with wrong value", futex(&word, FUTEX_WAIT_PRIVATE, 2, NULL));
    struct timespec ts = {0, 20 * 1000 * 1000};
    double t0 = mono_now();
    report("FUTEX_WAIT timeout", futex(&word, FUTEX_WAIT_PRIVATE, 1, &ts));
    printf("waited>=15ms: %s\n", yesno(mono_now() - t0 >= 0.015));
    report("FUTEX_WAKE nobody waiting", futex(&word, FUTEX_WAKE_PRIVATE, 1, NULL));
    report("futex bad op", futex(&word, 99, 0, NULL));
    report("futex unaligned", futex((int *)((char *)&word + 1), FUTEX_WAKE_PRIVATE, 1, NULL));
    return 0;
}
