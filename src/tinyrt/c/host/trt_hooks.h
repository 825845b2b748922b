/* trt_hooks.h - counts heap and lock calls, to prove the real-time rules (host only: glibc, Linux).
 *
 * A program built with -DTRT_HOOKS (and -D_GNU_SOURCE for RTLD_NEXT) includes this once: it replaces
 * malloc/calloc/realloc/free/memalign/aligned_alloc/posix_memalign (forwarding to glibc's __libc_*)
 * and forwards the pthread lock/wait calls and sem_wait through dlsym(RTLD_NEXT). While a thread sets
 * `counting`, that thread's calls are counted in its own `n_heap` / `n_lock` (thread-local, so the
 * audio thread counts only its own calls). Used by the C harness (trt_harness.c) and the live host.
 */
#ifndef TRT_HOOKS_H
#define TRT_HOOKS_H

#include <dlfcn.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

/* volatile: the compiler assumes the builtin malloc reads and writes none of them */
static __thread volatile int counting;
static __thread volatile long n_heap, n_lock;
static void *volatile probe_sink;

void *malloc(size_t n) { if (counting) n_heap++; return __libc_malloc(n); }
void *calloc(size_t n, size_t m) { if (counting) n_heap++; return __libc_calloc(n, m); }
void *realloc(void *p, size_t n) { if (counting) n_heap++; return __libc_realloc(p, n); }
void free(void *p) { if (counting && p) n_heap++; __libc_free(p); }
void *memalign(size_t a, size_t n) { if (counting) n_heap++; return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { if (counting) n_heap++; return __libc_memalign(a, n); }
int posix_memalign(void **p, size_t a, size_t n)
{
    if (counting) n_heap++;
    *p = __libc_memalign(a, n);
    return *p ? 0 : 12;
}

#define TRT_FORWARD(ret, fn, params, args)                      \
    ret fn params                                               \
    {                                                           \
        static ret (*real) params;                              \
        if (counting) n_lock++;                                 \
        if (!real) *(void **)&real = dlsym(RTLD_NEXT, #fn);     \
        return real args;                                       \
    }
TRT_FORWARD(int, pthread_mutex_lock, (pthread_mutex_t *m), (m))
TRT_FORWARD(int, pthread_mutex_trylock, (pthread_mutex_t *m), (m))
TRT_FORWARD(int, pthread_rwlock_rdlock, (pthread_rwlock_t *m), (m))
TRT_FORWARD(int, pthread_rwlock_wrlock, (pthread_rwlock_t *m), (m))
TRT_FORWARD(int, pthread_spin_lock, (pthread_spinlock_t *m), (m))
TRT_FORWARD(int, pthread_cond_wait, (pthread_cond_t *c, pthread_mutex_t *m), (c, m))
TRT_FORWARD(int, sem_wait, (sem_t *s), (s))

#endif /* TRT_HOOKS_H */
