/* Threads shared by the OpenMP modules (engine, conv): a sense-reversing barrier
   that spins briefly, then yields the core, so that on a machine with more runnable
   threads than cores (shared, or 7 threads on 2 cores) a thread does not burn its
   time slice waiting for a descheduled one; and OpenMP's own barrier / team size,
   no-ops (one thread) where the build has no OpenMP. The acquire/release pairs
   order every thread's writes of a phase before every read of the next. */
#ifndef PLASTICITY_THREADS_H
#define PLASTICITY_THREADS_H
#include <sched.h>
typedef struct { int count; int sense; int n; } pl_bar_t;
static void pl_bar_wait(pl_bar_t* b, int* local_sense) {
    int s = !*local_sense, spins = 0;
    *local_sense = s;
    if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == b->n) {
        __atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&b->sense, s, __ATOMIC_RELEASE);
        return;
    }
    while (__atomic_load_n(&b->sense, __ATOMIC_ACQUIRE) != s) {
        if (++spins < 500) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
            sched_yield();
        }
    }
}
#ifdef _OPENMP
#include <omp.h>
static void pl_barrier(void) {
    #pragma omp barrier
}
static int pl_team_size(void) { return omp_get_num_threads(); }
static int pl_openmp(void) { return 1; }
#else
static void pl_barrier(void) {}
static int pl_team_size(void) { return 1; }
static int pl_openmp(void) { return 0; }
#endif
#endif  /* PLASTICITY_THREADS_H */
