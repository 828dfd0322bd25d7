/* core_internal.h - declarations shared by the C files of the core, never
 * seen by the cffi binding. Plain C only (no Python.h), so that sampler.c
 * and ring.c stay free of CPython internals. */
#ifndef PYPROF_CORE_INTERNAL_H
#define PYPROF_CORE_INTERNAL_H

#include <stdatomic.h>
#include <stdint.h>

#include "pyprof_core.h"

/* Longest chain the handler will follow before giving up on a stack; a
 * guard against a corrupt or cyclic frame chain, far above any real
 * recursion limit. */
#define PYPROF_WALK_LIMIT 65536

/* ---- ring.c ---------------------------------------------------------- */

/* Reserve the next slot; NULL (and the drop counted) when the ring is
 * full. The record stays the caller's until pyprof_ring_publish().
 * Context: async-signal-safe, lock-free, bounded. */
pyprof_record_head *pyprof_ring_reserve(pyprof_ring *ring, uint64_t *pos);
void pyprof_ring_publish(pyprof_ring *ring, uint64_t pos);
/* Forget every record, published or not. Only when no producer can run
 * (after fork in the child, or while stopped with no handler inside). */
void pyprof_ring_reset(pyprof_ring *ring);
int pyprof_ring_empty(const pyprof_ring *ring);

static inline pyprof_frame *
pyprof_record_frames(pyprof_record_head *rec)
{
    return (pyprof_frame *)(rec + 1);
}

/* The truncating stack writer. Frames are pushed innermost first. While
 * the stack fits, they are stored in order. Past max_frames the first
 * `inner` (= max/2) frames stay fixed and the remaining slots act as a
 * circular window over the most recent (outermost so far) frames;
 * pyprof_stackw_finish() puts the window back in order and keeps its last
 * max - inner - 1 frames, so that with the marker the drain inserts, a
 * truncated stack is exactly max_frames long. Context: async-signal-safe. */
typedef struct {
    pyprof_frame *frames;
    uint32_t max;
    uint32_t inner;
    uint64_t total;
} pyprof_stackw;

void pyprof_stackw_init(pyprof_stackw *w, pyprof_record_head *rec,
                        uint32_t max_frames);
static inline void
pyprof_stackw_push(pyprof_stackw *w, void *code, int32_t instr)
{
    uint64_t k = w->total++;
    uint64_t at = k;
    if (k >= w->max) {
        uint64_t window = w->max - w->inner;
        at = w->inner + (k - w->inner) % window;
    }
    w->frames[at].code = code;
    w->frames[at].instr = instr;
    w->frames[at].zero = 0;
}
void pyprof_stackw_finish(pyprof_stackw *w, pyprof_record_head *rec);

/* ---- walk.c (the only file built with CPython internals) ------------- */

/* The interrupted thread's PyThreadState, or NULL when this thread runs
 * no Python. Context: the sampling signal handler; reads thread-local storage only. */
void *pyprof_current_tstate(void);
/* Push tstate's frames, innermost first, into w; returns 1 if the walk
 * met a corrupt-looking frame (and stopped there), else 0. Context: the signal handler on the thread that
 * owns tstate: no allocation, no locks, no reference counts. */
uint32_t pyprof_walk(void *tstate, pyprof_stackw *w);

/* ---- pyapi.c --------------------------------------------------------- */

/* Bitmap of code addresses written into records, set by the handler and
 * read by the code dealloc hook (GIL). Atomic bit operations; cleared
 * only while no sampler runs and the ring is empty. */
#define PYPROF_SEEN_BITS (1u << 18)
extern _Atomic uint64_t pyprof_seen[PYPROF_SEEN_BITS / 64];

static inline uint32_t
pyprof_seen_hash(const void *code)
{
    uint64_t x = (uint64_t)(uintptr_t)code;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 32;
    return (uint32_t)(x & (PYPROF_SEEN_BITS - 1));
}

static inline void
pyprof_seen_mark(const void *code)
{
    uint32_t h = pyprof_seen_hash(code);
    uint64_t bit = 1ULL << (h & 63);
    _Atomic uint64_t *word = &pyprof_seen[h >> 6];
    if (!(atomic_load_explicit(word, memory_order_relaxed) & bit))
        atomic_fetch_or_explicit(word, bit, memory_order_relaxed);
}

/* ---- memory.c -------------------------------------------------------- */
/* named[i] = 1 when a stack of the memory sampler's tables names codes[i]
 * (0 for all while it is stopped). */
void pyprof_mem_named(void *const *codes, uint32_t n, uint8_t *named);

/* ---- sampler.c ------------------------------------------------------- */
int pyprof_sampler_quiet(void);  /* stopped and ring drained */

#endif /* PYPROF_CORE_INTERNAL_H */
