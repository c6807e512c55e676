/* 8 pthreads increment a shared counter under a mutex; join return values. */
#include "common.h"
#include <pthread.h>

#define NTHREADS 8
#define ITERS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static pid_t main_pid;

static void *worker(void *arg) {
    long id = (long)arg;
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    /* Threads share the pid but have their own tid. */
    int same_pid = getpid() == main_pid;
    int own_tid = syscall(SYS_gettid) != main_pid;
    return (void *)(id * 10 + (same_pid && own_tid ? 1 : 0));
}

int main(void) {
    setup();
    main_pid = getpid();
    pthread_t t[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
    for (int i = 0; i < NTHREADS; i++) {
        void *ret;
        CHECK(pthread_join(t[i], &ret) == 0);
        printf("thread %d returned %ld\n", i, (long)ret);
    }
    printf("counter=%ld expected=%d\n", counter, NTHREADS * ITERS);

    /* trylock on a held mutex, error-checking mutex misuse. */
    pthread_mutex_lock(&lock);
    printf("trylock held: %s\n", errname(pthread_mutex_trylock(&lock)));
    pthread_mutex_unlock(&lock);
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t ec;
    pthread_mutex_init(&ec, &a);
    pthread_mutex_lock(&ec);
    printf("errorcheck relock: %s\n", errname(pthread_mutex_lock(&ec)));
    pthread_mutex_unlock(&ec);
    printf("errorcheck unlock unlocked: %s\n", errname(pthread_mutex_unlock(&ec)));

    /* Detached thread and joining it fails. */
    pthread_t d;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    CHECK(pthread_create(&d, &at, worker, (void *)99) == 0);
    /* Many short-lived threads in sequence. */
    for (int i = 0; i < 100; i++) {
        pthread_t x;
        CHECK(pthread_create(&x, NULL, worker, (void *)0) == 0);
        CHECK(pthread_join(x, NULL) == 0);
    }
    pthread_mutex_lock(&lock);
    long c = counter;
    pthread_mutex_unlock(&lock);
    printf("counter after 100 more threads >= %d: %s\n", (NTHREADS + 100) * ITERS, yesno(c >= (NTHREADS + 100) * ITERS));
    return 0;
}
