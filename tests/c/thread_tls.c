/* Thread-local storage: __thread variables, pthread keys with destructors,
 * and the thread pointer (fs base) being distinct per thread. */
#include "common.h"
#include <pthread.h>

static __thread int tls_counter = 5;
static __thread char tls_name[16];
static pthread_key_t key;
static volatile int destructor_runs;

static void destructor(void *p) {
    __atomic_add_fetch(&destructor_runs, 1, __ATOMIC_SEQ_CST);
    free(p);
}

static void *worker(void *arg) {
    long id = (long)arg;
    int initial = tls_counter; /* every thread starts from the initializer */
    for (int i = 0; i < 1000; i++)
        tls_counter++;
    snprintf(tls_name, sizeof tls_name, "t%ld", id);
    int *v = malloc(sizeof *v);
    *v = (int)id * 7;
    pthread_setspecific(key, v);
    usleep(1000);
    int *back = pthread_getspecific(key);
    int ok = initial == 5 && tls_counter == 1005 && back == v && *back == (int)id * 7 &&
             strcmp(tls_name, (char[16]){'t', (char)('0' + id), 0}) == 0;
    void *fs_self = (void *)pthread_self();
    return (void *)(long)(ok ? (fs_self != NULL ? 1 : 2) : 0);
}

int main(void) {
    setup();
    CHECK(pthread_key_create(&key, destructor) == 0);
    tls_counter = 42;
    pthread_t t[6];
    for (long i = 0; i < 6; i++)
        CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
    for (int i = 0; i < 6; i++) {
        void *r;
        pthread_join(t[i], &r);
        printf("thread %d tls ok: %ld\n", i, (long)r);
    }
    printf("main tls untouched: %d\n", tls_counter);
    printf("destructors ran: %d\n", destructor_runs);
    printf("distinct pthread_self per thread: %s\n", yesno(!pthread_equal(t[0], t[1])));
    return 0;
}
