/* ring.c - the lock-free ring between sampling-signal handlers and the drain.
 *
 * Many producers (a handler may run on several threads at once), one
 * consumer (the drain thread). Each slot starts with a sequence word:
 * slot i is free for the producer of position p when seq == p, holds a
 * published record for the consumer when seq == p + 1, and becomes free
 * for position p + nslots once the consumer has copied it out. Producers
 * claim a position with a compare-and-swap on head only after seeing the
 * slot free, so a full ring costs a dropped record and never a hole the
 * consumer would wait on forever. Nothing here blocks, allocates or
 * calls into libc beyond memcpy, so push is safe in a signal handler.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

struct pyprof_ring {
    uint32_t nslots;
    uint32_t mask;
    uint32_t max_frames;
    size_t record_size;
    size_t slot_size;
    _Atomic uint64_t head;     /* next position to claim; CAS by producers */
    _Atomic uint64_t dropped;  /* records lost to a full ring */
    uint64_t tail;             /* next position to read; consumer only */
    unsigned char *slots;
};

typedef struct {
    _Atomic uint64_t seq;
} slot_seq;

/* Give up claiming a slot after this many lost races; the record is then
 * dropped. Only reachable when many threads sample at the same instant. */
#define RESERVE_TRIES 64

static inline slot_seq *
slot_at(const pyprof_ring *ring, uint64_t pos)
{
    return (slot_seq *)(ring->slots + (size_t)(pos & ring->mask) *
                                          ring->slot_size);
}

static inline pyprof_record_head *
slot_record(slot_seq *slot)
{
    return (pyprof_record_head *)((unsigned char *)slot + sizeof(uint64_t));
}

pyprof_ring *
pyprof_ring_new(uint32_t nslots, uint32_t max_frames)
{
    if (nslots < 2 || (nslots & (nslots - 1)) || max_frames < 4 ||
        max_frames > 4096)
        return NULL;
    pyprof_ring *ring = calloc(1, sizeof(*ring));
    if (!ring)
        return NULL;
    ring->nslots = nslots;
    ring->mask = nslots - 1;
    ring->max_frames = max_frames;
    ring->record_size = sizeof(pyprof_record_head) +
                        (size_t)max_frames * sizeof(pyprof_frame);
    ring->slot_size = sizeof(uint64_t) + ring->record_size;
    /* calloc: untouched slots cost address space, not memory. */
    ring->slots = calloc(nslots, ring->slot_size);
    if (!ring->slots) {
        free(ring);
        return NULL;
    }
    pyprof_ring_reset(ring);
    return ring;
}

void
pyprof_ring_free(pyprof_ring *ring)
{
    if (!ring)
        return;
    free(ring->slots);
    free(ring);
}

void
pyprof_ring_reset(pyprof_ring *ring)
{
    for (uint64_t i = 0; i < ring->nslots; i++)
        atomic_store_explicit(&slot_at(ring, i)->seq, i,
                              memory_order_relaxed);
    ring->tail = 0;
    atomic_store_explicit(&ring->dropped, 0, memory_order_relaxed);
    atomic_store_explicit(&ring->head, 0, memory_order_release);
}

size_t
pyprof_ring_record_size(const pyprof_ring *ring)
{
    return ring->record_size;
}

uint32_t
pyprof_ring_max_frames(const pyprof_ring *ring)
{
    return ring->max_frames;
}

uint64_t
pyprof_ring_dropped(const pyprof_ring *ring)
{
    return atomic_load_explicit(&ring->dropped, memory_order_relaxed);
}

int
pyprof_ring_empty(const pyprof_ring *ring)
{
    return atomic_load_explicit(&((pyprof_ring *)ring)->head,
                                memory_order_acquire) == ring->tail;
}

pyprof_record_head *
pyprof_ring_reserve(pyprof_ring *ring, uint64_t *pos_out)
{
    uint64_t pos = atomic_load_explicit(&ring->head, memory_order_relaxed);
    for (int tries = 0; tries < RESERVE_TRIES; tries++) {
        slot_seq *slot = slot_at(ring, pos);
        uint64_t seq = atomic_load_explicit(&slot->seq, memory_order_acquire);
        int64_t diff = (int64_t)(seq - pos);
        if (diff == 0) {
            if (atomic_compare_exchange_weak_explicit(
                    &ring->head, &pos, pos + 1, memory_order_relaxed,
                    memory_order_relaxed)) {
                *pos_out = pos;
                return slot_record(slot);
            }
            /* pos now holds the head another producer moved to. */
        } else if (diff < 0) {
            break; /* the consumer has not freed this slot yet: full */
        } else {
            pos = atomic_load_explicit(&ring->head, memory_order_relaxed);
        }
    }
    atomic_fetch_add_explicit(&ring->dropped, 1, memory_order_relaxed);
    return NULL;
}

void
pyprof_ring_publish(pyprof_ring *ring, uint64_t pos)
{
    atomic_store_explicit(&slot_at(ring, pos)->seq, pos + 1,
                          memory_order_release);
}

uint32_t
pyprof_ring_pop(pyprof_ring *ring, void *out, uint32_t max_records)
{
    unsigned char *dst = out;
    uint32_t n = 0;
    while (n < max_records) {
        slot_seq *slot = slot_at(ring, ring->tail);
        uint64_t seq = atomic_load_explicit(&slot->seq, memory_order_acquire);
        if (seq != ring->tail + 1)
            break; /* empty, or the next record is still being written */
        memcpy(dst, slot_record(slot), ring->record_size);
        atomic_store_explicit(&slot->seq, ring->tail + ring->nslots,
                              memory_order_release);
        ring->tail++;
        dst += ring->record_size;
        n++;
    }
    return n;
}

/* ---- the truncating stack writer -------------------------------------- */

void
pyprof_stackw_init(pyprof_stackw *w, pyprof_record_head *rec,
                   uint32_t max_frames)
{
    w->frames = pyprof_record_frames(rec);
    w->max = max_frames;
    w->inner = max_frames / 2;
    w->total = 0;
}

/* Reverse a[lo, hi). */
static void
frames_reverse(pyprof_frame *a, uint32_t lo, uint32_t hi)
{
    while (lo + 1 < hi) {
        pyprof_frame t = a[lo];
        a[lo] = a[hi - 1];
        a[hi - 1] = t;
        lo++;
        hi--;
    }
}

void
pyprof_stackw_finish(pyprof_stackw *w, pyprof_record_head *rec)
{
    if (w->total <= w->max) {
        rec->depth = (uint32_t)w->total;
        rec->truncated = 0;
        return;
    }
    /* Rotate the window [inner, max) left so that it starts one past its
     * oldest entry: the oldest is dropped (its slot goes to the marker)
     * and the outermost frame ends up at depth - 1. */
    uint32_t window = w->max - w->inner;
    uint32_t oldest = (uint32_t)((w->total - w->inner) % window);
    uint32_t shift = (oldest + 1) % window;
    pyprof_frame *win = w->frames + w->inner;
    if (shift) {
        frames_reverse(win, 0, shift);
        frames_reverse(win, shift, window);
        frames_reverse(win, 0, window);
    }
    rec->depth = w->max - 1;
    rec->truncated = (uint32_t)(w->total - (w->max - 1));
}

/* ---- test entry points ------------------------------------------------ */

/* A patterned record: every field is a function of (tid, depth, pattern),
 * so a consumer can tell a torn record (fields from two writers) from a
 * whole one without knowing which writer produced it. */
static void
fill_pattern(pyprof_record_head *rec, int32_t tid, uint32_t depth,
             uint64_t pattern)
{
    rec->time_ns = pattern;
    rec->weight = (uint32_t)(pattern * 7 + 1);
    rec->tid = tid;
    rec->depth = depth;
    rec->truncated = (uint32_t)(pattern ^ (uint64_t)tid);
    pyprof_frame *f = pyprof_record_frames(rec);
    for (uint32_t i = 0; i < depth; i++) {
        f[i].code = (void *)(uintptr_t)(pattern * 1000003u + i + 1);
        f[i].instr = (int32_t)(tid + (int32_t)i);
        f[i].zero = 0;
    }
}

int
pyprof_ring_test_push(pyprof_ring *ring, int32_t tid, uint32_t depth,
                      uint64_t pattern)
{
    if (depth > ring->max_frames)
        return PYPROF_EINVAL;
    uint64_t pos;
    pyprof_record_head *rec = pyprof_ring_reserve(ring, &pos);
    if (!rec)
        return PYPROF_EFULL;
    fill_pattern(rec, tid, depth, pattern);
    pyprof_ring_publish(ring, pos);
    return PYPROF_OK;
}

int
pyprof_ring_test_check(const void *record, uint32_t max_frames)
{
    const pyprof_record_head *rec = record;
    if (rec->depth > max_frames)
        return 0;
    uint64_t pattern = rec->time_ns;
    if (rec->weight != (uint32_t)(pattern * 7 + 1) ||
        rec->truncated != (uint32_t)(pattern ^ (uint64_t)rec->tid))
        return 0;
    const pyprof_frame *f = (const pyprof_frame *)(rec + 1);
    for (uint32_t i = 0; i < rec->depth; i++) {
        if (f[i].code != (void *)(uintptr_t)(pattern * 1000003u + i + 1) ||
            f[i].instr != (int32_t)(rec->tid + (int32_t)i) || f[i].zero)
            return 0;
    }
    return 1;
}

#define TEST_MAX_THREADS 16

static struct {
    pthread_t threads[TEST_MAX_THREADS];
    int nthreads;
    pyprof_ring *ring;
    uint32_t count;
    _Atomic int64_t failed;
} test_spawn;

static void *
test_producer(void *arg)
{
    int32_t tid = (int32_t)(intptr_t)arg;
    uint32_t depth_cap = test_spawn.ring->max_frames;
    for (uint32_t i = 0; i < test_spawn.count; i++) {
        uint64_t pattern = ((uint64_t)tid << 32) | i;
        if (pyprof_ring_test_push(test_spawn.ring, tid, (i * 13) % depth_cap,
                                  pattern) != PYPROF_OK)
            atomic_fetch_add(&test_spawn.failed, 1);
    }
    return NULL;
}

int
pyprof_ring_test_spawn(pyprof_ring *ring, int nthreads, uint32_t count)
{
    if (nthreads < 1 || nthreads > TEST_MAX_THREADS || test_spawn.nthreads)
        return PYPROF_EINVAL;
    test_spawn.ring = ring;
    test_spawn.count = count;
    atomic_store(&test_spawn.failed, 0);
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&test_spawn.threads[i], NULL, test_producer,
                           (void *)(intptr_t)(i + 1)) != 0)
            break;
        test_spawn.nthreads++;
    }
    return test_spawn.nthreads == nthreads ? PYPROF_OK : PYPROF_ENOMEM;
}

int64_t
pyprof_ring_test_join(void)
{
    for (int i = 0; i < test_spawn.nthreads; i++)
        pthread_join(test_spawn.threads[i], NULL);
    test_spawn.nthreads = 0;
    return atomic_load(&test_spawn.failed);
}

int
pyprof_ring_test_trunc(uint32_t total, uint32_t max_frames, void *out)
{
    if (max_frames < 4)
        return PYPROF_EINVAL;
    pyprof_record_head *rec = out;
    pyprof_stackw w;
    memset(rec, 0, sizeof(*rec) + (size_t)max_frames * sizeof(pyprof_frame));
    pyprof_stackw_init(&w, rec, max_frames);
    for (uint32_t i = 0; i < total; i++)
        pyprof_stackw_push(&w, (void *)(uintptr_t)(i + 1), (int32_t)i);
    pyprof_stackw_finish(&w, rec);
    return PYPROF_OK;
}
