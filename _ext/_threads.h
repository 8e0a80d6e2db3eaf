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

/* A barrier that spins, then sleeps (conv's train): a waiting thread spins up to
   `spin` rounds (a few microseconds each hundred), then sleeps on a futex until the
   last thread of the phase wakes it. Sleeping, not yielding, frees its core: on a
   machine where another process runs, a yielding thread hands its core to that
   process for a whole time slice while the thread it waits for may sit preempted
   on the other core; a sleeping one leaves its core idle, and the scheduler moves
   the preempted thread there. `sleepers` counts the threads that may be asleep, so
   the last thread makes the wake-up system call only when one is. */
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <limits.h>
#endif
typedef struct { int count; int sense; int n; int sleepers; int spin; } pl_fbar_t;
static void pl_fbar_init(pl_fbar_t* b, int n, int spin) {
    b->count = 0; b->sense = 0; b->n = n; b->sleepers = 0; b->spin = spin;
}
static int pl_online_cpus(void) {
#if defined(__linux__)
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
#else
    return 1;
#endif
}
static void pl_fbar_wait(pl_fbar_t* b, int* local_sense) {
    int s = !*local_sense, spins = 0;
    *local_sense = s;
    if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == b->n) {
        __atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&b->sense, s, __ATOMIC_SEQ_CST);
#if defined(__linux__)
        if (__atomic_load_n(&b->sleepers, __ATOMIC_SEQ_CST) > 0)
            syscall(SYS_futex, &b->sense, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
#endif
        return;
    }
    while (__atomic_load_n(&b->sense, __ATOMIC_ACQUIRE) != s) {
        if (++spins < b->spin) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
#if defined(__linux__)
            /* sleeps only while sense is still the old value: a release between the
               check above and here makes the call return at once */
            __atomic_add_fetch(&b->sleepers, 1, __ATOMIC_SEQ_CST);
            if (__atomic_load_n(&b->sense, __ATOMIC_SEQ_CST) != s)
                syscall(SYS_futex, &b->sense, FUTEX_WAIT_PRIVATE, !s, NULL, NULL, 0);
            __atomic_sub_fetch(&b->sleepers, 1, __ATOMIC_SEQ_CST);
#else
            sched_yield();
#endif
        }
    }
}

/* Seconds on the monotonic clock and of this thread's CPU time: a run on several
   threads compares them per thread to see whether its threads held their cores
   (Network's load watch). Only the choice of thread count depends on them. */
#include <time.h>
static double pl_wall_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static double pl_thread_seconds(void) {
#if defined(CLOCK_THREAD_CPUTIME_ID)
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
        return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
#endif
    return pl_wall_seconds();   /* unknown: looks like a thread that kept its core */
}

/* Zeroed memory on whole 64-byte cache lines (pl_line_free to free it): arrays each
   thread writes a part of at every step, so that no line holds two threads' parts. */
#include <stdlib.h>
#include <string.h>
#if defined(_WIN32)
#include <malloc.h>
#define PL_LINE_ALLOC(n) _aligned_malloc((n), 64)
#define PL_LINE_FREE(p) _aligned_free(p)
#else
#define PL_LINE_ALLOC(n) aligned_alloc(64, (n))
#define PL_LINE_FREE(p) free(p)
#endif
static void* pl_line_calloc(size_t nbytes) {
    size_t n = nbytes ? (nbytes + 63) / 64 * 64 : 64;
    void* p = PL_LINE_ALLOC(n);
    if (p) memset(p, 0, n);
    return p;
}
static void pl_line_free(void* p) { PL_LINE_FREE(p); }

/* Flush-to-zero and denormals-are-zero in the compiled step loops (pl_ftz_enter
   on every thread that runs them, pl_ftz_leave after, so Python and NumPy between
   runs keep IEEE denormals). A decaying conductance, trace or current reaches the
   smallest denormal and stays there (x * decay rounds back to it), and arithmetic
   on denormals takes a slow path: B3's inhibitory g_e made a training sample
   1.18-1.32x slower (benchmarks/denormals.py). Values below
   DBL_MIN / FLT_MIN are read and written as 0 instead, identically on every
   thread, so results stay the same for any number of threads. */
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
static unsigned long long pl_ftz_enter(void) {
    unsigned int old = _mm_getcsr();
    _mm_setcsr(old | 0x8040u);            /* FTZ (bit 15) | DAZ (bit 6) */
    return old;
}
static void pl_ftz_leave(unsigned long long old) { _mm_setcsr((unsigned int)old); }
#elif defined(__aarch64__)
static unsigned long long pl_ftz_enter(void) {
    unsigned long long old;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(old));
    __asm__ __volatile__("msr fpcr, %0" : : "r"(old | (1ULL << 24)));   /* FZ */
    return old;
}
static void pl_ftz_leave(unsigned long long old) {
    __asm__ __volatile__("msr fpcr, %0" : : "r"(old));
}
#else
static unsigned long long pl_ftz_enter(void) { return 0; }
static void pl_ftz_leave(unsigned long long old) { (void)old; }
#endif

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
