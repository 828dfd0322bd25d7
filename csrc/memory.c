/* memory.c - sampled allocation profiling through CPython's allocator hooks.
 *
 * pyprof puts its own functions in front of the RAW, MEM and OBJ allocator
 * domains (PyMem_SetAllocator), each chaining to whatever was there before,
 * so tracemalloc or another hook keeps working whether it was installed
 * before or after pyprof.
 *
 * Which allocations are sampled. Each thread counts down the bytes it
 * allocates; when the count reaches zero the allocation that crossed it is
 * sampled and a new count is drawn from an exponential distribution whose
 * mean is the rate (Go's runtime.MemProfileRate). Allocated bytes therefore
 * form a Poisson process, and an allocation of s bytes is sampled with
 * probability 1 - exp(-s / rate) whatever came before it. The fast path of
 * an allocation is a subtraction and a comparison on thread-local storage.
 * A rate of 1 samples every allocation.
 *
 * What a sample keeps. Its Python stack, read by walk.c's frame walker
 * (no allocation, no reference counts: the RAW domain is called without
 * the GIL), is interned in a stack table that accumulates per stack the
 * raw and unbiased allocation counts and bytes. The block itself goes into
 * a hash table keyed by address (size, stack, weight) until it is freed;
 * realloc moves it. In-use values are summed from that table when a
 * snapshot is taken, so they are exact for the sampled set. Unbiasing
 * follows Go: a sample of s bytes stands for 1 / (1 - exp(-s / rate))
 * allocations (1 when the rate is 1).
 *
 * Frees. Every free must learn whether its block was sampled. A counting
 * filter indexed by a hash of the address (static, so it can be read
 * without a lock at any time) says "certainly not" for nearly every block;
 * only a filter hit takes the lock and probes the table. A filter count is
 * raised before the sampled block is handed to the program and lowered
 * after its entry is gone, so a racing reader can only see a false hit,
 * never a false miss.
 *
 * Re-entrancy. pymalloc hands large requests to PyMem_RawMalloc, which
 * would reach our RAW hook a second time for the same allocation; a
 * thread-local flag set around the MEM and OBJ hooks' calls to the
 * previous allocator that may nest (large requests, reallocs) and around
 * pyprof's own work in any hook lets such nested calls straight through.
 * The tables allocate with libc's malloc directly, never through a hooked
 * domain.
 *
 * Shared state and what protects it:
 *   g_enabled: atomic; hooks forward untouched while it is 0
 *   g_filter: atomic counters, changed under g_mlock, read without it
 *   every table, the scratch record, the stats: g_mlock
 *   g_domains: written with the GIL before hooks are installed, then
 *              read-only (hooks stay valid for the life of the process)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core_internal.h"

#define NDOMAINS 3
#define FILTER_BITS 16
#define FILTER_SIZE (1u << FILTER_BITS)

/* Bounds on pyprof's own memory (see pyprof_mem_stats.table_bytes). A
 * sample past a bound still counts towards its stack's allocations; it is
 * only not tracked as live (counted in `untracked`). */
#define MAX_LIVE (1u << 21)          /* live sampled blocks */
#define MAX_STACKS (1u << 20)        /* distinct stacks */
#define MAX_POOL_FRAMES (1u << 22)   /* frames of all stacks together */

typedef struct {
    PyMemAllocatorEx prev;
    PyMemAllocatorDomain domain;
    int nests;  /* prev may call the RAW domain (pymalloc does) */
} mem_domain;

/* pymalloc serves requests up to this many bytes from its own pools (the
 * same in 3.9 to 3.13) and hands larger ones to PyMem_RawMalloc, so only
 * those need the re-entrancy flag on the fast path. Limitation: when
 * pymalloc cannot map a new arena it falls back to the RAW domain for a
 * small request too, which is then counted twice. */
#define NESTS_ABOVE 512

typedef struct {
    uintptr_t addr;  /* 0: empty slot */
    uint64_t size;
    double weight;   /* allocations this sample stands for */
    uint32_t stack;
    uint32_t unused;
} live_entry;

typedef struct {
    uint64_t hash;
    uint64_t frames_at;  /* index into g_pool */
    uint32_t depth;
    uint32_t truncated;
    uint64_t count;      /* sampled allocations */
    uint64_t bytes;
    double objects;      /* unbiased */
    double space;
} stack_info;

static mem_domain g_domains[NDOMAINS];
static int g_installed[NDOMAINS];   /* GIL */
static int g_atfork_done;           /* GIL */

static _Atomic int g_enabled;
static _Atomic uint32_t g_filter[FILTER_SIZE];
/* The current recording's number while sampling, 0 while stopped. A
 * thread whose t_generation differs takes the slow path once, which draws
 * it a fresh countdown (or, stopped, lets it pass untouched). */
static _Atomic uint64_t g_generation;
static uint64_t g_started;         /* GIL; recordings started so far */

static pthread_mutex_t g_mlock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_rate;            /* g_mlock; set before g_enabled */
static uint32_t g_max_frames;      /* g_mlock */
static pyprof_record_head *g_scratch;  /* g_mlock */
static live_entry *g_live;         /* g_mlock */
static uint64_t g_live_cap, g_live_n;
static stack_info *g_stacks;       /* g_mlock; stack 0: table full */
static uint32_t g_stacks_cap, g_stacks_n;
static uint32_t *g_index;          /* g_mlock; stack id + 1, 0 empty */
static uint64_t g_index_cap;
static pyprof_frame *g_pool;       /* g_mlock */
static uint64_t g_pool_cap, g_pool_n;
static pyprof_mem_stats g_mstats;  /* g_mlock */

/* Per thread, in one block so that the fast path finds it with a single
 * thread-pointer lookup: bytes left before the next sample, the
 * generation they were drawn for, the "inside pyprof" flag, the "ignore
 * this thread" flag (pyprof_mem_ignore_thread) and a random state. */
typedef struct {
    int64_t countdown;
    uint64_t generation;
    int busy;
    int ignore;
    uint64_t rng;
} thread_state;

static __thread thread_state t __attribute__((tls_model("initial-exec")));
#define t_countdown (t.countdown)
#define t_generation (t.generation)
#define t_busy (t.busy)
#define t_ignore (t.ignore)
#define t_rng (t.rng)

static inline int
enabled(void)
{
    return atomic_load_explicit(&g_enabled, memory_order_relaxed);
}

/* ---- sampling decision ------------------------------------------------ */

static uint64_t
rng_next(void)
{
    if (!t_rng) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        t_rng = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
                ((uint64_t)(uintptr_t)&ts * 0x9e3779b97f4a7c15ULL) ^
                (uint64_t)pyprof_gettid();
        if (!t_rng)
            t_rng = 0x853c49e6748fea9bULL;
    }
    /* xorshift64* */
    t_rng ^= t_rng >> 12;
    t_rng ^= t_rng << 25;
    t_rng ^= t_rng >> 27;
    return t_rng * 0x2545f4914f6cdd1dULL;
}

/* Bytes until the next sample: exponential with mean `rate`. */
static int64_t
draw_countdown(uint64_t rate)
{
    if (rate <= 1)
        return 0;
    /* 53 random bits -> u in (0, 1]. */
    double u = ((double)(rng_next() >> 11) + 1.0) / 9007199254740992.0;
    double next = -log(u) * (double)rate;
    if (next > 4e18)
        next = 4e18;
    return (int64_t)next + 1;
}

/* Decide for an allocation of `size` bytes that took the slow path (the
 * countdown reached zero). Returns 1 to sample it. */
static int
should_sample(uint64_t size)
{
    uint64_t gen = atomic_load_explicit(&g_generation, memory_order_relaxed);
    uint64_t rate = g_rate;
    if (t_ignore) {
        t_generation = gen;
        t_countdown = INT64_MAX;
        return 0;
    }
    if (t_generation != gen) {
        /* First allocation of this thread in this recording: start a
         * fresh countdown rather than judge by an old one. */
        t_generation = gen;
        t_countdown = draw_countdown(rate);
        if (rate > 1 && (t_countdown -= (int64_t)size) > 0)
            return 0;
    }
    t_countdown = draw_countdown(rate);
    return 1;
}

/* ---- filter and tables (g_mlock) ------------------------------------- */

/* The filter slot of an address: one per 64 bytes of address space,
 * wrapping every 4 MiB. Not a scattering hash on purpose: frees come in
 * runs of nearby addresses (a pool, a list's items), and neighbours then
 * share one cache line of the filter. */
static inline uint32_t
addr_hash(uintptr_t addr)
{
    return (uint32_t)(addr >> 6) & (FILTER_SIZE - 1);
}

static inline uint64_t
slot_of(uintptr_t addr, uint64_t cap)
{
    uint64_t x = (uint64_t)addr;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x & (cap - 1);
}

static void
account_unlocked(void)
{
    uint64_t bytes = sizeof(g_filter) +
                     g_live_cap * sizeof(live_entry) +
                     (uint64_t)g_stacks_cap * sizeof(stack_info) +
                     g_index_cap * sizeof(uint32_t) +
                     g_pool_cap * sizeof(pyprof_frame) +
                     (g_scratch ? sizeof(pyprof_record_head) +
                                      g_max_frames * sizeof(pyprof_frame)
                                : 0);
    g_mstats.table_bytes = bytes;
    if (bytes > g_mstats.peak_table_bytes)
        g_mstats.peak_table_bytes = bytes;
    g_mstats.live = g_live_n;
    g_mstats.stacks = g_stacks_n;
}

static int
live_grow_unlocked(void)
{
    uint64_t cap = g_live_cap ? g_live_cap * 2 : 1024;
    live_entry *grown = calloc(cap, sizeof(live_entry));
    if (!grown)
        return -1;
    for (uint64_t i = 0; i < g_live_cap; i++) {
        live_entry *e = &g_live[i];
        if (!e->addr)
            continue;
        uint64_t at = slot_of(e->addr, cap);
        while (grown[at].addr)
            at = (at + 1) & (cap - 1);
        grown[at] = *e;
    }
    free(g_live);
    g_live = grown;
    g_live_cap = cap;
    account_unlocked();
    return 0;
}

static live_entry *
live_find_unlocked(uintptr_t addr)
{
    if (!g_live_n)
        return NULL;
    for (uint64_t at = slot_of(addr, g_live_cap);; at = (at + 1) &
                                                      (g_live_cap - 1)) {
        if (g_live[at].addr == addr)
            return &g_live[at];
        if (!g_live[at].addr)
            return NULL;
    }
}

/* Insert or replace; returns 0, or -1 when the table is at its bound. */
static int
live_put_unlocked(const live_entry *entry)
{
    live_entry *old = live_find_unlocked(entry->addr);
    if (old) {
        *old = *entry;
        return 0;
    }
    if (g_live_n >= MAX_LIVE)
        return -1;
    if ((g_live_n + 1) * 2 > g_live_cap && live_grow_unlocked() < 0)
        return -1;
    uint64_t at = slot_of(entry->addr, g_live_cap);
    while (g_live[at].addr)
        at = (at + 1) & (g_live_cap - 1);
    g_live[at] = *entry;
    g_live_n++;
    atomic_fetch_add_explicit(&g_filter[addr_hash(entry->addr)], 1,
                              memory_order_release);
    return 0;
}

/* Remove the entry for addr into *out; returns 1 if there was one.
 * Linear probing with backward-shift deletion: no tombstones. */
static int
live_take_unlocked(uintptr_t addr, live_entry *out)
{
    live_entry *e = live_find_unlocked(addr);
    if (!e)
        return 0;
    *out = *e;
    uint64_t mask = g_live_cap - 1;
    uint64_t hole = (uint64_t)(e - g_live);
    for (uint64_t at = (hole + 1) & mask; g_live[at].addr;
         at = (at + 1) & mask) {
        uint64_t home = slot_of(g_live[at].addr, g_live_cap);
        /* Move the entry back into the hole unless its home lies
         * cyclically in (hole, at]. */
        int stays = hole <= at ? (home > hole && home <= at)
                               : (home > hole || home <= at);
        if (!stays) {
            g_live[hole] = g_live[at];
            hole = at;
        }
    }
    g_live[hole].addr = 0;
    g_live_n--;
    atomic_fetch_sub_explicit(&g_filter[addr_hash(addr)], 1,
                              memory_order_release);
    return 1;
}

static uint64_t
frames_hash(const pyprof_frame *frames, uint32_t depth, uint32_t truncated)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ depth ^ ((uint64_t)truncated << 32);
    for (uint32_t i = 0; i < depth; i++) {
        h ^= (uint64_t)(uintptr_t)frames[i].code;
        h *= 0x100000001b3ULL;
        h ^= (uint64_t)(uint32_t)frames[i].instr;
        h *= 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return h ? h : 1;
}

static int
index_grow_unlocked(void)
{
    uint64_t cap = g_index_cap ? g_index_cap * 2 : 1024;
    uint32_t *grown = calloc(cap, sizeof(uint32_t));
    if (!grown)
        return -1;
    for (uint32_t id = 1; id < g_stacks_n; id++) {
        uint64_t at = g_stacks[id].hash & (cap - 1);
        while (grown[at])
            at = (at + 1) & (cap - 1);
        grown[at] = id + 1;
    }
    free(g_index);
    g_index = grown;
    g_index_cap = cap;
    return 0;
}

/* The id of the stack in g_scratch, added if new; 0 (the overflow stack)
 * when a bound or an allocation failure stops it from being added. */
static uint32_t
stack_intern_unlocked(void)
{
    uint32_t depth = g_scratch->depth, truncated = g_scratch->truncated;
    const pyprof_frame *frames = pyprof_record_frames(g_scratch);
    uint64_t h = frames_hash(frames, depth, truncated);
    uint64_t at = g_index_cap ? h & (g_index_cap - 1) : 0;
    if (g_index_cap) {
        for (; g_index[at]; at = (at + 1) & (g_index_cap - 1)) {
            stack_info *s = &g_stacks[g_index[at] - 1];
            if (s->hash == h && s->depth == depth &&
                s->truncated == truncated &&
                !memcmp(g_pool + s->frames_at, frames,
                        depth * sizeof(pyprof_frame)))
                return g_index[at] - 1;
        }
    }
    if (g_stacks_n >= MAX_STACKS || g_pool_n + depth > MAX_POOL_FRAMES)
        goto full;
    if (g_stacks_n == g_stacks_cap) {
        uint32_t cap = g_stacks_cap * 2;
        stack_info *grown = realloc(g_stacks, cap * sizeof(stack_info));
        if (!grown)
            goto full;
        g_stacks = grown;
        g_stacks_cap = cap;
    }
    if (g_pool_n + depth > g_pool_cap) {
        uint64_t cap = g_pool_cap ? g_pool_cap : 4096;
        while (cap < g_pool_n + depth)
            cap *= 2;
        pyprof_frame *grown = realloc(g_pool, cap * sizeof(pyprof_frame));
        if (!grown)
            goto full;
        g_pool = grown;
        g_pool_cap = cap;
    }
    if ((uint64_t)(g_stacks_n + 1) * 2 > g_index_cap) {
        if (index_grow_unlocked() < 0)
            goto full;
    }
    uint32_t id = g_stacks_n++;
    stack_info *s = &g_stacks[id];
    memset(s, 0, sizeof(*s));
    s->hash = h;
    s->depth = depth;
    s->truncated = truncated;
    s->frames_at = g_pool_n;
    memcpy(g_pool + g_pool_n, frames, depth * sizeof(pyprof_frame));
    g_pool_n += depth;
    at = h & (g_index_cap - 1);
    while (g_index[at])
        at = (at + 1) & (g_index_cap - 1);
    g_index[at] = id + 1;
    account_unlocked();
    return id;
full:
    g_mstats.stack_overflow++;
    return 0;
}

static void
tables_free_unlocked(void)
{
    free(g_live);
    free(g_stacks);
    free(g_index);
    free(g_pool);
    free(g_scratch);
    g_live = NULL;
    g_stacks = NULL;
    g_index = NULL;
    g_pool = NULL;
    g_scratch = NULL;
    g_live_cap = g_live_n = 0;
    g_stacks_cap = g_stacks_n = 0;
    g_index_cap = 0;
    g_pool_cap = g_pool_n = 0;
    for (uint32_t i = 0; i < FILTER_SIZE; i++)
        atomic_store_explicit(&g_filter[i], 0, memory_order_relaxed);
}

/* ---- recording a sample ----------------------------------------------- */

static double
sample_weight(uint64_t size, uint64_t rate)
{
    if (rate <= 1)
        return 1.0;
    /* size 0 is asked as 1 byte by CPython's allocators. */
    double s = size ? (double)size : 1.0;
    return 1.0 / -expm1(-s / (double)rate);
}

/* The stack of the calling thread into g_scratch. */
static void
capture_unlocked(void)
{
    pyprof_stackw w;
    pyprof_stackw_init(&w, g_scratch, g_max_frames);
    void *tstate = pyprof_current_tstate();
    if (tstate && pyprof_walk(tstate, &w)) {
        /* A frame looked corrupt: keep no partial stack. */
        w.total = 0;
        g_mstats.bad_stacks++;
    }
    pyprof_stackw_finish(&w, g_scratch);
}

/* Record a sampled block (ptr, size) under the calling thread's stack. */
static void
record_sample(void *ptr, uint64_t size)
{
    pthread_mutex_lock(&g_mlock);
    if (!atomic_load_explicit(&g_enabled, memory_order_relaxed) ||
        !g_scratch)
        goto out;
    capture_unlocked();
    uint32_t id = stack_intern_unlocked();
    double w = sample_weight(size, g_rate);
    stack_info *s = &g_stacks[id];
    s->count++;
    s->bytes += size;
    s->objects += w;
    s->space += w * (double)size;
    g_mstats.samples++;
    live_entry e = {(uintptr_t)ptr, size, w, id, 0};
    if (live_put_unlocked(&e) < 0)
        g_mstats.untracked++;
    account_unlocked();
out:
    pthread_mutex_unlock(&g_mlock);
}

/* Forget a block about to be freed or moved; fills *out if it was
 * tracked and returns 1. */
static int
untrack(void *ptr, live_entry *out)
{
    int found = 0;
    pthread_mutex_lock(&g_mlock);
    if (atomic_load_explicit(&g_enabled, memory_order_relaxed))
        found = live_take_unlocked((uintptr_t)ptr, out);
    if (found)
        g_mstats.frees++;
    pthread_mutex_unlock(&g_mlock);
    return found;
}

/* Put back (after a failed realloc) or move (after a successful one) a
 * tracked block. */
static void
retrack(const live_entry *e)
{
    pthread_mutex_lock(&g_mlock);
    if (atomic_load_explicit(&g_enabled, memory_order_relaxed)) {
        if (live_put_unlocked(e) < 0)
            g_mstats.untracked++;
        account_unlocked();
    }
    pthread_mutex_unlock(&g_mlock);
}

/* ---- the hooks -------------------------------------------------------- */

/* The hooks' fast paths only count down, compare and forward (a tail
 * call); all else is in the out-of-line slow paths below, so that the
 * fast path needs no stack frame. While pyprof is stopped but still called
 * by a hook installed over it, a crossing lands in a slow path that finds
 * it disabled and pushes the thread's next look a mebibyte away; a
 * restart is noticed at once, by its new generation. */
#define COLD __attribute__((noinline, cold))
#define IDLE_COUNTDOWN (1 << 20)

/* The allocation that just counted down may need the slow path: the count
 * ran out, or pymalloc may call the RAW domain back. */
static inline int
needs_slow(const mem_domain *d, size_t size)
{
    t_countdown -= (int64_t)size;
    return __builtin_expect(
        (t_countdown <= 0) |
            (t_generation !=
             atomic_load_explicit(&g_generation, memory_order_relaxed)) |
            (d->nests && size > NESTS_ABOVE),
        0);
}

/* The count ran out, or a recording started or stopped since the thread
 * last looked. */
static inline int
due(void)
{
    return t_countdown <= 0 ||
           t_generation !=
               atomic_load_explicit(&g_generation, memory_order_relaxed);
}

/* After the block is allocated (with t_busy set): sample it if the count
 * ran out. */
static void
after_alloc(void *ptr, size_t size, int crossed)
{
    if (!crossed || !ptr)
        return;
    if (!enabled()) {
        t_generation = 0;
        t_countdown = IDLE_COUNTDOWN;
        return;
    }
    if (should_sample(size))
        record_sample(ptr, size);
}

static COLD void *
malloc_slow(mem_domain *d, size_t size)
{
    int crossed = due();
    t_busy = 1;
    void *ptr = d->prev.malloc(d->prev.ctx, size);
    after_alloc(ptr, size, crossed);
    t_busy = 0;
    return ptr;
}

static void *
hook_malloc(void *ctx, size_t size)
{
    mem_domain *d = ctx;
    if (!t_busy && needs_slow(d, size))
        return malloc_slow(d, size);
    return d->prev.malloc(d->prev.ctx, size);
}

static COLD void *
calloc_slow(mem_domain *d, size_t nelem, size_t elsize, size_t size)
{
    int crossed = due();
    t_busy = 1;
    void *ptr = d->prev.calloc(d->prev.ctx, nelem, elsize);
    after_alloc(ptr, size, crossed);
    t_busy = 0;
    return ptr;
}

static void *
hook_calloc(void *ctx, size_t nelem, size_t elsize)
{
    mem_domain *d = ctx;
    size_t size;
    if (__builtin_mul_overflow(nelem, elsize, &size))
        size = SIZE_MAX;
    if (!t_busy && needs_slow(d, size))
        return calloc_slow(d, nelem, elsize, size);
    return d->prev.calloc(d->prev.ctx, nelem, elsize);
}

static inline int
maybe_tracked(const void *ptr)
{
    return ptr && atomic_load_explicit(&g_filter[addr_hash((uintptr_t)ptr)],
                                       memory_order_acquire);
}

static COLD void *
realloc_slow(mem_domain *d, void *ptr, size_t size)
{
    live_entry old;
    /* Untrack before the block can be freed: once it is, another thread
     * may be handed the same address and sample it. */
    int had = maybe_tracked(ptr) && untrack(ptr, &old);
    int crossed = due();
    t_busy = 1;
    void *moved = d->prev.realloc(d->prev.ctx, ptr, size);
    if (!moved) {
        if (had)
            retrack(&old);  /* failed: the old block is still there */
    } else if (crossed && enabled() && should_sample(size)) {
        record_sample(moved, size);
    } else if (had) {
        old.addr = (uintptr_t)moved;
        old.size = size;
        retrack(&old);
    }
    if (crossed && !enabled()) {
        t_generation = 0;
        t_countdown = IDLE_COUNTDOWN;
    }
    t_busy = 0;
    return moved;
}

static void *
hook_realloc(void *ctx, void *ptr, size_t size)
{
    mem_domain *d = ctx;
    if (t_busy)
        return d->prev.realloc(d->prev.ctx, ptr, size);
    /* Any realloc may nest (the old block may be pymalloc's or the RAW
     * domain's), so every one of a nesting domain takes the slow path. */
    t_countdown -= (int64_t)size;
    if (d->nests || due() || maybe_tracked(ptr))
        return realloc_slow(d, ptr, size);
    return d->prev.realloc(d->prev.ctx, ptr, size);
}

static COLD void
free_slow(mem_domain *d, void *ptr)
{
    live_entry old;
    untrack(ptr, &old);
    d->prev.free(d->prev.ctx, ptr);
}

static void
hook_free(void *ctx, void *ptr)
{
    mem_domain *d = ctx;
    if (__builtin_expect(maybe_tracked(ptr), 0)) {
        free_slow(d, ptr);
        return;
    }
    d->prev.free(d->prev.ctx, ptr);
}

/* ---- lifecycle -------------------------------------------------------- */

static void
atfork_prepare(void)
{
    pthread_mutex_lock(&g_mlock);
}

static void
atfork_release(void)
{
    pthread_mutex_unlock(&g_mlock);
}

static const PyMemAllocatorDomain DOMAINS[NDOMAINS] = {
    PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};

static int
hooked(PyMemAllocatorDomain domain, mem_domain *d)
{
    PyMemAllocatorEx now;
    PyMem_GetAllocator(domain, &now);
    return now.ctx == d && now.malloc == hook_malloc;
}

int
pyprof_mem_start(uint64_t rate, uint32_t max_frames)
{
    if (rate < 1 || max_frames < 4 || max_frames > 4096)
        return PYPROF_EINVAL;
    int rc = PYPROF_OK;
    PyGILState_STATE gil = PyGILState_Ensure();
    if (enabled()) {
        rc = PYPROF_EBUSY;
        goto out;
    }
    if (!g_atfork_done) {
        if (pthread_atfork(atfork_prepare, atfork_release, atfork_release)) {
            rc = PYPROF_ENOMEM;
            goto out;
        }
        g_atfork_done = 1;
    }
    pthread_mutex_lock(&g_mlock);
    tables_free_unlocked();
    memset(&g_mstats, 0, sizeof(g_mstats));
    g_scratch = calloc(1, sizeof(pyprof_record_head) +
                              max_frames * sizeof(pyprof_frame));
    g_stacks_cap = 256;
    g_stacks = calloc(g_stacks_cap, sizeof(stack_info));
    if (!g_scratch || !g_stacks) {
        tables_free_unlocked();
        pthread_mutex_unlock(&g_mlock);
        rc = PYPROF_ENOMEM;
        goto out;
    }
    g_stacks_n = 1;  /* stack 0: samples whose stack found no room */
    g_max_frames = max_frames;
    g_rate = rate;
    g_mstats.rate = rate;
    account_unlocked();
    atomic_store(&g_enabled, 1);
    atomic_store(&g_generation, ++g_started);
    pthread_mutex_unlock(&g_mlock);

    for (int i = 0; i < NDOMAINS; i++) {
        mem_domain *d = &g_domains[i];
        if (g_installed[i] && hooked(DOMAINS[i], d))
            continue;
        if (g_installed[i]) {
            /* Still in another hook's chain from an earlier start (that
             * hook calls us as its previous allocator): stay there. */
            continue;
        }
        PyMemAllocatorEx ours = {d, hook_malloc, hook_calloc, hook_realloc,
                                 hook_free};
        d->domain = DOMAINS[i];
        d->nests = DOMAINS[i] != PYMEM_DOMAIN_RAW;
        PyMem_GetAllocator(DOMAINS[i], &d->prev);
        PyMem_SetAllocator(DOMAINS[i], &ours);
        g_installed[i] = 1;
    }
out:
    PyGILState_Release(gil);
    return rc;
}

int
pyprof_mem_stop(void)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    int was = enabled();
    atomic_store(&g_enabled, 0);
    atomic_store(&g_generation, 0);
    for (int i = 0; i < NDOMAINS; i++) {
        /* Unhook only where we are on top; under another hook we stay in
         * its chain and forward untouched. */
        if (g_installed[i] && hooked(DOMAINS[i], &g_domains[i])) {
            PyMem_SetAllocator(DOMAINS[i], &g_domains[i].prev);
            g_installed[i] = 0;
        }
    }
    pthread_mutex_lock(&g_mlock);
    tables_free_unlocked();
    g_mstats.live = g_mstats.stacks = 0;
    g_mstats.table_bytes = 0;
    pthread_mutex_unlock(&g_mlock);
    PyGILState_Release(gil);
    return was ? PYPROF_OK : PYPROF_ESTATE;
}

int
pyprof_mem_running(void)
{
    return enabled();
}

void
pyprof_mem_get_stats(pyprof_mem_stats *out)
{
    pthread_mutex_lock(&g_mlock);
    *out = g_mstats;
    pthread_mutex_unlock(&g_mlock);
}

void
pyprof_mem_ignore_thread(int ignore)
{
    /* Not t_busy: the thread's frees and reallocs of sampled blocks must
     * still be seen. A countdown that never runs out keeps it off the slow
     * path; t_ignore keeps it from sampling when a restart sends it there.
     * Leaving, a spent countdown and a forgotten generation make the next
     * allocation draw a fresh countdown, as a thread's first allocation
     * does, rather than be sampled outright (which would charge a whole
     * mean interval to whatever the thread allocates first). */
    t_ignore = ignore ? 1 : 0;
    t_countdown = ignore ? INT64_MAX : 0;
    if (!ignore)
        t_generation = 0;
}

uint32_t
pyprof_mem_sizes(uint64_t *nframes)
{
    pthread_mutex_lock(&g_mlock);
    uint32_t n = g_stacks_n;
    *nframes = g_pool_n;
    pthread_mutex_unlock(&g_mlock);
    return n;
}

int
pyprof_mem_snapshot(pyprof_mem_stack *out, uint32_t max_stacks,
                    pyprof_frame *frames, uint64_t max_frames)
{
    int rc;
    pthread_mutex_lock(&g_mlock);
    if (!enabled() || !g_stacks) {
        rc = PYPROF_ESTATE;
        goto out;
    }
    if (g_stacks_n > max_stacks || g_pool_n > max_frames) {
        rc = PYPROF_EFULL;
        goto out;
    }
    memcpy(frames, g_pool, g_pool_n * sizeof(pyprof_frame));
    for (uint32_t i = 0; i < g_stacks_n; i++) {
        const stack_info *s = &g_stacks[i];
        pyprof_mem_stack *o = &out[i];
        memset(o, 0, sizeof(*o));
        o->frames_at = s->frames_at;
        o->depth = s->depth;
        o->truncated = s->truncated;
        o->alloc_count = s->count;
        o->alloc_bytes = s->bytes;
        o->alloc_objects = s->objects;
        o->alloc_space = s->space;
    }
    for (uint64_t i = 0; i < g_live_cap; i++) {
        const live_entry *e = &g_live[i];
        if (!e->addr)
            continue;
        pyprof_mem_stack *o = &out[e->stack];
        o->inuse_count++;
        o->inuse_bytes += e->size;
        o->inuse_objects += e->weight;
        o->inuse_space += e->weight * (double)e->size;
    }
    rc = (int)g_stacks_n;
out:
    pthread_mutex_unlock(&g_mlock);
    return rc;
}
