/* Producer/consumer with pthread_cond, timed wait timeout, broadcast. */
#include "common.h"
#include <pthread.h>

#define N 1000
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_empty = PTHREAD_COND_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER;
static int queue[4], head, tail, size;

static void *producer(void *arg) {
    (void)arg;
    for (int i = 1; i <= N; i++) {
        pthread_mutex_lock(&m);
        while (size == 4)
            pthread_cond_wait(&not_full, &m);
        queue[tail] = i;
        tail = (tail + 1) % 4;
        size++;
        pthread_cond_signal(&not_empty);
        pthread_mutex_unlock(&m);
    }
    return NULL;
}

static void *consumer(void *arg) {
    long sum = 0;
    for (int i = 0; i < N / 2; i++) {
        pthread_mutex_lock(&m);
        while (size == 0)
            pthread_cond_wait(&not_empty, &m);
        sum += queue[head];
        head = (head + 1) % 4;
        size--;
        pthread_cond_signal(&not_full);
        pthread_mutex_unlock(&m);
    }
    *(long *)arg = sum;
    return NULL;
}

static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int started, released;

static void *waiter(void *arg) {
    (void)arg;
    pthread_mutex_lock(&m);
    started++;
    while (!released)
        pthread_cond_wait(&go, &m);
    pthread_mutex_unlock(&m);
    return NULL;
}

int main(void) {
    setup();
    pthread_t p, c1, c2;
    long s1 = 0, s2 = 0;
    CHECK(pthread_create(&c1, NULL, consumer, &s1) == 0);
    CHECK(pthread_create(&c2, NULL, consumer, &s2) == 0);
    CHECK(pthread_create(&p, NULL, producer, NULL) == 0);
    pthread_join(p, NULL);
    pthread_join(c1, NULL);
    pthread_join(c2, NULL);
    printf("consumed total=%ld expected=%d\n", s1 + s2, N * (N + 1) / 2);

    /* pthread_cond_timedwait times out. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 30 * 1000 * 1000;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&m);
    double t0 = mono_now();
    int r = pthread_cond_timedwait(&go, &m, &ts);
    double dt = mono_now() - t0;
    pthread_mutex_unlock(&m);
    printf("timedwait: %s, waited>=25ms: %s\n", errname(r), yesno(dt >= 0.025));

    /* Broadcast wakes all waiters. */
    pthread_t w[5];
    for (int i = 0; i < 5; i++)
        CHECK(pthread_create(&w[i], NULL, waiter, NULL) == 0);
    for (;;) {
        pthread_mutex_lock(&m);
        int s = started;
        pthread_mutex_unlock(&m);
        if (s == 5)
            break;
        usleep(1000);
    }
    pthread_mutex_lock(&m);
    released = 1;
    pthread_cond_broadcast(&go);
    pthread_mutex_unlock(&m);
    for (int i = 0; i < 5; i++)
        pthread_join(w[i], NULL);
    printf("broadcast released all 5 waiters\n");
    return 0;
}
