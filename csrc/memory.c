/* memory.c - sampled allocation profiling through CPython's allocator hooks.
 *
 * pyprof puts its own functions in front of the RAW, MEM and OBJ allocator
 * domains (PyMem_SetAllocator), each chaining to whatever was there before,
 * so tracemalloc or another hook keeps working whether it was installed
 * before or after pyprof.
 *
 * Which allocations are sampled. Allocated bytes are counted down; when
 * the count reaches zero the allocation that crossed it is sampled and a
 * new count is drawn from an exponential distribution whose mean is the
 * rate (Go's runtime.MemProfileRate). Allocated bytes therefore form a
 * Poisson process, and an allocation of s bytes is sampled with
 * probability 1 - exp(-s / rate) whatever came before it. A rate of 1
 * samples every allocation.
 *
 * Two countdowns. The MEM and OBJ domains are only ever called with the
 * GIL held (pymalloc relies on it too), so they share one plain global
 * count: their fast path is a subtraction, a comparison and the call of
 * the previous allocator, without even a thread-local lookup, which
 * matters at tens of millions of allocations a second. The RAW domain is
 * called from any thread without the GIL and keeps a count per thread.
 * Either count alone is a Poisson process over its bytes, so the two
 * together sample every byte at the same rate.
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
 * Frees. Every free must learn whether its block was sampled. Over plain
 * pymalloc, MEM and OBJ frees are not hooked at all: a sampled block of
 * those domains is a RAW block (see "two ways" below), and pymalloc hands
 * its free to the RAW domain. Every other hooked free asks a filter of one
 * bit per slot of address space (static, so it can be read without a lock
 * at any time), which says "certainly not" for nearly every block; only a
 * filter hit takes the lock and probes the table. A slot's bit is set
 * before a sampled block is handed to the program and cleared after the
 * slot's last entry is gone, so a racing reader can only see a false hit,
 * never a false miss.
 *
 * Counted once. pymalloc hands requests above 512 bytes to
 * PyMem_RawMalloc, which reaches our RAW hook. Over plain pymalloc, the
 * MEM and OBJ hooks leave such requests uncounted and the RAW hook counts
 * them (pymalloc passes them on unchanged). Over another allocator that
 * hands them on (the debug hooks, which add a header; tracemalloc; found
 * by a probe at start), the MEM or OBJ hook counts them and sets a
 * thread-local flag around the call that keeps the RAW hook from
 * counting them again; over one that does not (PYTHONMALLOC=malloc), it
 * simply counts every size. A realloc is counted where it was asked, with
 * the same flag. The flag also lets the RAW hook pass pyprof's own work
 * straight through. The tables allocate with libc's malloc directly,
 * never through a hooked domain. Limitation: when pymalloc cannot map a
 * new arena it falls back to the RAW domain for a small request too,
 * which is then counted twice; so, under the debug hooks, are requests
 * that their header pushes past 512 bytes.
 *
 * Shared state and what protects it:
 *   g_enabled: atomic; hooks forward untouched while it is 0
 *   g_filter: atomic bits, changed under g_mlock, read without it
 *   g_countdown: the GIL (see "Two countdowns" above)
 *   every table, the scratch record, the stats: g_mlock
 *   g_domains: written with the GIL before hooks are installed, then
 *              read-only (hooks stay valid for the life of the process)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core_internal.h"

#define NDOMAINS 3
/* The free filter: one bit per slot, 2^19 slots (64 KiB of bits, so that
 * the bits of a busy heap stay in the cache), each slot standing for 16
 * bytes of address space and the whole wrapping every 8 MiB. */
#define FILTER_BITS 19
#define FILTER_SIZE (1u << FILTER_BITS)
#define FILTER_WORDS (FILTER_SIZE / 64)

/* Bounds on pyprof's own memory (see pyprof_mem_stats.table_bytes). A
 * sample past a bound still counts towards its stack's allocations; it is
 * only not tracked as live (counted in `untracked`). */
#define MAX_LIVE (1u << 21)          /* live sampled blocks */
#define MAX_STACKS (1u << 20)        /* distinct stacks */
#define MAX_POOL_FRAMES (1u << 22)   /* frames of all stacks together */

typedef struct {
    PyMemAllocatorEx prev;
    PyMemAllocatorDomain domain;
    int nests;  /* prev hands large requests to the RAW domain */
    int direct; /* prev is pymalloc itself (see "two ways" below) */
    PyMemAllocatorEx ours;  /* what pyprof installed */
} mem_domain;

/* g_domains[i] sits over DOMAINS[i]. */
#define RAW_INDEX 0
#define MEM_INDEX 1
#define OBJ_INDEX 2

/* pymalloc serves requests up to this many bytes from its own pools (the
 * same in 3.9 to 3.13) and hands larger ones to PyMem_RawMalloc. */
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
static _Atomic uint64_t g_filter[FILTER_WORDS];
static uint16_t *g_filter_count;   /* g_mlock: blocks per slot */
/* The current recording's number while sampling, 0 while stopped. A
 * thread whose t_generation differs takes the slow path once, which draws
 * it a fresh countdown (or, stopped, lets it pass untouched). */
static _Atomic uint64_t g_generation;
static uint64_t g_started;         /* GIL; recordings started so far */
/* Bytes the MEM and OBJ domains may allocate before their next sample:
 * read and written with the GIL (relaxed atomics, plain loads and stores,
 * so that an interpreter with its own GIL can only blur the count, never
 * tear it). INT64_MAX while stopped. */
static _Atomic int64_t g_countdown = INT64_MAX;

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
/* The code objects g_pool names (a set, open addressing, 0 empty), so that
 * pyapi.c keeps alive only those of the code objects that die while
 * sampling runs (pyprof_mem_named). */
static uintptr_t *g_named;         /* g_mlock */
static uint64_t g_named_cap, g_named_n;
static pyprof_mem_stats g_mstats;  /* g_mlock */

/* Per thread, in one block so that the RAW hook finds it with a single
 * thread-pointer lookup: bytes left before the thread's next RAW sample,
 * the generation they were drawn for, the "inside pyprof" flag, the
 * "ignore this thread" flag (pyprof_mem_ignore_thread), whether the start
 * probe reached the RAW hook, and a random state. */
typedef struct {
    int64_t countdown;
    uint64_t generation;
    int busy;
    int ignore;
    int probe_seen;
    uint64_t rng;
} thread_state;

static __thread thread_state t __attribute__((tls_model("initial-exec")));
#define t_countdown (t.countdown)
#define t_generation (t.generation)
#define t_busy (t.busy)
#define t_ignore (t.ignore)
#define t_rng (t.rng)
/* t_busy while a probe runs (see raw_hook_sees). */
#define BUSY_PROBE 2

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

/* The filter slot of an address: one per 16 bytes of address space (the
 * allocators' alignment, so distinct blocks nearby never share a slot).
 * Not a scattering hash on purpose: frees come in runs of nearby
 * addresses (a pool, a list's items), and neighbours then share one cache
 * line of the filter. */
static inline uint32_t
addr_hash(uintptr_t addr)
{
    return (uint32_t)(addr >> 4) & (FILTER_SIZE - 1);
}

/* A tracked block now lies in slot h: set its bit before the block can
 * reach the program. */
static void
filter_add_unlocked(uint32_t h)
{
    if (g_filter_count[h]++ == 0)
        atomic_fetch_or_explicit(&g_filter[h / 64], 1ULL << (h % 64),
                                 memory_order_release);
}

/* Room for one more block in slot h? (65,535 live blocks 8 MiB apart.) */
static inline int
filter_room_unlocked(uint32_t h)
{
    return g_filter_count[h] < UINT16_MAX;
}

/* A tracked block left slot h: clear its bit after its entry is gone. */
static void
filter_remove_unlocked(uint32_t h)
{
    if (--g_filter_count[h] == 0)
        atomic_fetch_and_explicit(&g_filter[h / 64], ~(1ULL << (h % 64)),
                                  memory_order_release);
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
                     (g_filter_count ? FILTER_SIZE * sizeof(uint16_t) : 0) +
                     g_live_cap * sizeof(live_entry) +
                     (uint64_t)g_stacks_cap * sizeof(stack_info) +
                     g_index_cap * sizeof(uint32_t) +
                     g_pool_cap * sizeof(pyprof_frame) +
                     g_named_cap * sizeof(uintptr_t) +
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
    if (g_live_n >= MAX_LIVE || !filter_room_unlocked(addr_hash(entry->addr)))
        return -1;
    if ((g_live_n + 1) * 2 > g_live_cap && live_grow_unlocked() < 0)
        return -1;
    uint64_t at = slot_of(entry->addr, g_live_cap);
    while (g_live[at].addr)
        at = (at + 1) & (g_live_cap - 1);
    g_live[at] = *entry;
    g_live_n++;
    filter_add_unlocked(addr_hash(entry->addr));
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
    filter_remove_unlocked(addr_hash(addr));
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

/* Room for `more` code objects in g_named at most half full. */
static int
named_reserve_unlocked(uint64_t more)
{
    if ((g_named_n + more) * 2 <= g_named_cap)
        return 0;
    uint64_t cap = g_named_cap ? g_named_cap : 1024;
    while ((g_named_n + more) * 2 > cap)
        cap *= 2;
    uintptr_t *grown = calloc(cap, sizeof(uintptr_t));
    if (!grown)
        return -1;
    for (uint64_t i = 0; i < g_named_cap; i++) {
        uintptr_t code = g_named[i];
        if (!code)
            continue;
        uint64_t at = slot_of(code, cap);
        while (grown[at])
            at = (at + 1) & (cap - 1);
        grown[at] = code;
    }
    free(g_named);
    g_named = grown;
    g_named_cap = cap;
    return 0;
}

/* Is code in g_named? *at: its slot, or the empty slot it would take. */
static int
named_find_unlocked(uintptr_t code, uint64_t *at)
{
    uint64_t i = slot_of(code, g_named_cap);
    for (; g_named[i]; i = (i + 1) & (g_named_cap - 1)) {
        if (g_named[i] == code) {
            *at = i;
            return 1;
        }
    }
    *at = i;
    return 0;
}

/* Add (room reserved) the code objects of `depth` frames to g_named. */
static void
named_add_unlocked(const pyprof_frame *frames, uint32_t depth)
{
    for (uint32_t i = 0; i < depth; i++) {
        uintptr_t code = (uintptr_t)frames[i].code;
        uint64_t at;
        if (code && !named_find_unlocked(code, &at)) {
            g_named[at] = code;
            g_named_n++;
        }
    }
}

void
pyprof_mem_named(void *const *codes, uint32_t n, uint8_t *named)
{
    pthread_mutex_lock(&g_mlock);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t at;
        named[i] = g_named_cap &&
                   named_find_unlocked((uintptr_t)codes[i], &at);
    }
    pthread_mutex_unlock(&g_mlock);
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
    if (named_reserve_unlocked(depth) < 0)
        goto full;
    uint32_t id = g_stacks_n++;
    stack_info *s = &g_stacks[id];
    memset(s, 0, sizeof(*s));
    s->hash = h;
    s->depth = depth;
    s->truncated = truncated;
    s->frames_at = g_pool_n;
    memcpy(g_pool + g_pool_n, frames, depth * sizeof(pyprof_frame));
    g_pool_n += depth;
    named_add_unlocked(frames, depth);
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
    free(g_named);
    g_named = NULL;
    g_named_cap = g_named_n = 0;
    g_live = NULL;
    g_stacks = NULL;
    g_index = NULL;
    g_pool = NULL;
    g_scratch = NULL;
    g_live_cap = g_live_n = 0;
    g_stacks_cap = g_stacks_n = 0;
    g_index_cap = 0;
    g_pool_cap = g_pool_n = 0;
    for (uint32_t i = 0; i < FILTER_WORDS; i++)
        atomic_store_explicit(&g_filter[i], 0, memory_order_relaxed);
    free(g_filter_count);
    g_filter_count = NULL;
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
    if (found) {
        g_mstats.frees++;
        g_mstats.live = g_live_n;
    }
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
 * call); all else is in the out-of-line slow paths, so that the fast path
 * needs no stack frame. While pyprof is stopped but still called by a hook
 * installed over it, the MEM and OBJ count stands at INT64_MAX and never
 * runs out; a RAW crossing lands in a slow path that finds pyprof disabled
 * and pushes the thread's next look a mebibyte away, and a restart is
 * noticed at once, by its new generation. */
#define COLD __attribute__((noinline, cold))
#define IDLE_COUNTDOWN (1 << 20)

static inline int
maybe_tracked(const void *ptr)
{
    uint32_t h = addr_hash((uintptr_t)ptr);
    return ptr && (atomic_load_explicit(&g_filter[h / 64],
                                        memory_order_acquire) >>
                   (h % 64)) & 1;
}

static COLD void
free_slow(mem_domain *d, void *ptr)
{
    live_entry old;
    untrack(ptr, &old);
    d->prev.free(d->prev.ctx, ptr);
}

/* Every domain's free. */
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

/* -- MEM and OBJ: the GIL's countdown -- */

/* Count `size` bytes down; returns the bytes left. */
static inline int64_t
gil_count(size_t size)
{
    int64_t left = atomic_load_explicit(&g_countdown, memory_order_relaxed) -
                   (int64_t)size;
    atomic_store_explicit(&g_countdown, left, memory_order_relaxed);
    return left;
}

/* The GIL's count ran out at this allocation: draw the next count.
 * Returns 1 if the allocation is to be sampled (pyprof is running and the
 * thread is not ignored). */
static int
gil_take(void)
{
    if (!enabled()) {
        atomic_store_explicit(&g_countdown, INT64_MAX, memory_order_relaxed);
        return 0;
    }
    atomic_store_explicit(&g_countdown, draw_countdown(g_rate),
                          memory_order_relaxed);
    return !t_ignore;
}

/* The two ways of sitting over a MEM or OBJ domain.
 *
 * Over plain pymalloc (`direct`, at rates of DIRECT_MIN_RATE and more),
 * pyprof hooks malloc, calloc and realloc only, with pymalloc's own
 * context, and leaves free to pymalloc. A sampled block of up to 512
 * bytes is then made a RAW block instead of a pool's (raw_block):
 * pymalloc passes every such block to PyMem_RawFree and PyMem_RawRealloc,
 * so the RAW hook sees the sampled block leave, and the program's
 * millions of other frees cost nothing. The cost: each sampled small
 * block takes RAW_BLOCK bytes, one per 512 KiB allocated at the default
 * rate.
 *
 * Over anything else (tracemalloc, debug hooks, PYTHONMALLOC=malloc), and
 * at lower rates, every call is hooked with the domain as context and
 * every free asks the filter, as the RAW domain's do. */

/* The previous allocator's malloc (zero: calloc) of nelem * elsize bytes;
 * a malloc passes nelem 1. */
static inline void *
prev_alloc(mem_domain *d, void *ctx, size_t nelem, size_t elsize, int zero)
{
    return zero ? d->prev.calloc(ctx, nelem, elsize)
                : d->prev.malloc(ctx, nelem * elsize);
}

/* The smallest request pymalloc hands to the RAW domain. */
#define RAW_BLOCK (NESTS_ABOVE + 1)
/* The lowest rate at which MEM and OBJ go direct: below it the RAW_BLOCK
 * bytes of each sampled small block would add more than about 1% to the
 * memory those blocks stand for (a rate of 1 would make every small
 * object take 513 bytes), and the general way costs little beside the
 * sampling itself. */
#define DIRECT_MIN_RATE (64 * 1024)

/* Set by reachable() around its marked request, with the GIL. */
static int g_probing, g_probe_seen;

/* A RAW block to stand for a sampled small block, over pymalloc: asked
 * of pymalloc at RAW_BLOCK bytes, so that its block counts stay right
 * (pymalloc counts what it hands to the RAW domain, and uncounts it when
 * the block comes back). A recording below DIRECT_MIN_RATE that finds the
 * direct hooks still in another hook's chain from an earlier one pays
 * these bytes for every sampled small block too. */
static void *
raw_block(mem_domain *d, void *ctx, int zero)
{
    return prev_alloc(d, ctx, 1, RAW_BLOCK, zero);
}

/* A malloc or calloc of `size` bytes at which the count ran out. */
static COLD void *
gil_alloc_slow(mem_domain *d, void *ctx, size_t nelem, size_t elsize,
               size_t size, int zero)
{
    if (__builtin_expect(g_probing, 0)) {  /* reachable()'s request */
        g_probe_seen = 1;
        return prev_alloc(d, ctx, nelem, elsize, zero);
    }
    int was = t_busy;
    t_busy = 1;
    void *ptr = NULL;
    int take = gil_take();
    if (take && d->direct)
        ptr = raw_block(d, ctx, zero);  /* NULL: as asked */
    if (!ptr) {
        ptr = prev_alloc(d, ctx, nelem, elsize, zero);
        take = take && !d->direct;
    }
    if (take && ptr)
        record_sample(ptr, size);
    t_busy = was;
    return ptr;
}

/* A realloc whose count ran out (crossed) or whose block may be tracked. */
static COLD void *
gil_realloc_slow(mem_domain *d, void *ctx, void *ptr, size_t size,
                 int crossed)
{
    live_entry old;
    /* Untrack before the block can be freed: once it is, another thread
     * may be handed the same address and sample it. */
    int had = maybe_tracked(ptr) && untrack(ptr, &old);
    int was = t_busy;
    t_busy = 1;
    void *moved = d->prev.realloc(ctx, ptr, size);
    int sampled = 0;
    if (crossed && gil_take() && moved) {
        sampled = 1;
        if (d->direct && size <= NESTS_ABOVE) {
            /* pymalloc may have put it in a pool, whose frees pyprof does
             * not see: move it to a RAW block. (A tracked block is a RAW
             * block already, and pymalloc keeps it one.) */
            void *raw = raw_block(d, ctx, 0);
            if (raw) {
                memcpy(raw, moved, size);
                d->prev.free(ctx, moved);
                moved = raw;
            } else {
                sampled = 0;
            }
        }
        if (sampled)
            record_sample(moved, size);
    }
    if (had && !sampled) {
        if (moved) {  /* else it failed and the old block is still there */
            old.addr = (uintptr_t)moved;
            old.size = size;
        }
        retrack(&old);
    }
    t_busy = was;
    return moved;
}

#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* A request above 512 bytes over a nesting allocator that is not plain
 * pymalloc: counted here, with the flag that keeps the RAW hook from
 * counting it again (that allocator may change the size or the address
 * the RAW domain sees, as the debug hooks do). */
static __attribute__((noinline)) void *
gil_alloc_nested(mem_domain *d, void *ctx, size_t nelem, size_t elsize,
                 size_t size, int zero)
{
    int crossed = gil_count(size) <= 0;
    int was = t_busy;
    t_busy = 1;
    void *ptr = prev_alloc(d, ctx, nelem, elsize, zero);
    if (crossed && gil_take() && ptr)
        record_sample(ptr, size);
    t_busy = was;
    return ptr;
}

/* malloc (zero 0, nelem 1) and calloc of nelem * elsize = size bytes. */
ALWAYS_INLINE void *
gil_alloc(mem_domain *d, void *ctx, size_t nelem, size_t elsize, size_t size,
          int zero)
{
    if (__builtin_expect(size <= NESTS_ABOVE || !d->nests, 1)) {
        if (__builtin_expect(gil_count(size) <= 0, 0))
            return gil_alloc_slow(d, ctx, nelem, elsize, size, zero);
        return prev_alloc(d, ctx, nelem, elsize, zero);
    }
    if (d->direct)  /* pymalloc hands it to the RAW hook, which counts it */
        return prev_alloc(d, ctx, nelem, elsize, zero);
    return gil_alloc_nested(d, ctx, nelem, elsize, size, zero);
}

ALWAYS_INLINE void *
gil_malloc(mem_domain *d, void *ctx, size_t size)
{
    return gil_alloc(d, ctx, 1, size, size, 0);
}

ALWAYS_INLINE void *
gil_calloc(mem_domain *d, void *ctx, size_t nelem, size_t elsize)
{
    size_t size;
    if (__builtin_mul_overflow(nelem, elsize, &size))
        size = SIZE_MAX;
    return gil_alloc(d, ctx, nelem, elsize, size, 1);
}

ALWAYS_INLINE void *
gil_realloc(mem_domain *d, void *ctx, void *ptr, size_t size)
{
    /* Every size is counted here, since the flag below keeps the RAW
     * domain from counting what pymalloc hands it. */
    int crossed = gil_count(size) <= 0;
    if (__builtin_expect(crossed || maybe_tracked(ptr), 0))
        return gil_realloc_slow(d, ctx, ptr, size, crossed);
    if (!d->nests)
        return d->prev.realloc(ctx, ptr, size);
    thread_state *ts = &t;
    int was = ts->busy;
    ts->busy = 1;
    void *moved = d->prev.realloc(ctx, ptr, size);
    ts->busy = was;
    return moved;
}

/* Over anything but pymalloc: the domain is the context. */
static void *
hook_gil_malloc(void *ctx, size_t size)
{
    mem_domain *d = ctx;
    return gil_malloc(d, d->prev.ctx, size);
}

static void *
hook_gil_calloc(void *ctx, size_t nelem, size_t elsize)
{
    mem_domain *d = ctx;
    return gil_calloc(d, d->prev.ctx, nelem, elsize);
}

static void *
hook_gil_realloc(void *ctx, void *ptr, size_t size)
{
    mem_domain *d = ctx;
    return gil_realloc(d, d->prev.ctx, ptr, size);
}

/* Over pymalloc: the context is pymalloc's, the domain fixed. */
#define DIRECT_HOOKS(name, index)                                           \
    static void *hook_##name##_malloc(void *ctx, size_t size)               \
    {                                                                       \
        return gil_malloc(&g_domains[index], ctx, size);                    \
    }                                                                       \
    static void *hook_##name##_calloc(void *ctx, size_t n, size_t elsize)   \
    {                                                                       \
        return gil_calloc(&g_domains[index], ctx, n, elsize);               \
    }                                                                       \
    static void *hook_##name##_realloc(void *ctx, void *ptr, size_t size)   \
    {                                                                       \
        return gil_realloc(&g_domains[index], ctx, ptr, size);              \
    }
DIRECT_HOOKS(mem, MEM_INDEX)
DIRECT_HOOKS(obj, OBJ_INDEX)

/* -- RAW: each thread's countdown -- */

/* The thread's count ran out, or a recording started or stopped since the
 * thread last looked. */
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

/* A RAW call made by pyprof itself, by a MEM or OBJ hook's nested call,
 * or by the start probe: forwarded uncounted. */
#define RAW_PASS_IF_BUSY(call)                                            \
    do {                                                                   \
        if (__builtin_expect(t_busy, 0)) {                                 \
            if (t_busy == BUSY_PROBE)                                      \
                t.probe_seen = 1;                                          \
            return call;                                                   \
        }                                                                  \
    } while (0)

static COLD void *
raw_alloc_slow(mem_domain *d, size_t nelem, size_t elsize, size_t size,
               int zero)
{
    int crossed = due();
    t_busy = 1;
    void *ptr = prev_alloc(d, d->prev.ctx, nelem, elsize, zero);
    after_alloc(ptr, size, crossed);
    t_busy = 0;
    return ptr;
}

static void *
hook_raw_malloc(void *ctx, size_t size)
{
    mem_domain *d = ctx;
    RAW_PASS_IF_BUSY(d->prev.malloc(d->prev.ctx, size));
    t_countdown -= (int64_t)size;
    if (__builtin_expect(due(), 0))
        return raw_alloc_slow(d, 1, size, size, 0);
    return d->prev.malloc(d->prev.ctx, size);
}

static void *
hook_raw_calloc(void *ctx, size_t nelem, size_t elsize)
{
    mem_domain *d = ctx;
    size_t size;
    RAW_PASS_IF_BUSY(d->prev.calloc(d->prev.ctx, nelem, elsize));
    if (__builtin_mul_overflow(nelem, elsize, &size))
        size = SIZE_MAX;
    t_countdown -= (int64_t)size;
    if (__builtin_expect(due(), 0))
        return raw_alloc_slow(d, nelem, elsize, size, 1);
    return d->prev.calloc(d->prev.ctx, nelem, elsize);
}

static COLD void *
raw_realloc_slow(mem_domain *d, void *ptr, size_t size)
{
    live_entry old;
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
hook_raw_realloc(void *ctx, void *ptr, size_t size)
{
    mem_domain *d = ctx;
    RAW_PASS_IF_BUSY(d->prev.realloc(d->prev.ctx, ptr, size));
    t_countdown -= (int64_t)size;
    if (due() || maybe_tracked(ptr))
        return raw_realloc_slow(d, ptr, size);
    return d->prev.realloc(d->prev.ctx, ptr, size);
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
    return now.ctx == d->ours.ctx && now.malloc == d->ours.malloc;
}

/* Are the interpreter's allocators still its plain pymalloc ones (not
 * debug hooks, tracemalloc, PYTHONMALLOC=malloc or mimalloc)? Asked of
 * CPython's own _PyMem_GetCurrentAllocatorName, which compares every
 * domain with its defaults; looked up at run time, since it is not public
 * API, and "no" when it is absent. */
static int
plain_pymalloc(void)
{
    const char *(*current)(void) =
        (const char *(*)(void))dlsym(RTLD_DEFAULT,
                                      "_PyMem_GetCurrentAllocatorName");
    const char *name = current ? current() : NULL;
    return name && !strcmp(name, "pymalloc");
}

/* Does a request of `size` bytes through allocator `a` reach pyprof's RAW
 * hook? The hook marks what it passes while t_busy says a probe runs.
 * With the GIL. */
static int
raw_hook_sees(const PyMemAllocatorEx *a, size_t size)
{
    int was = t_busy;
    t_busy = BUSY_PROBE;
    t.probe_seen = 0;
    void *ptr = a->malloc(a->ctx, size);
    if (ptr)
        a->free(a->ctx, ptr);
    t_busy = was;
    return t.probe_seen;
}

/* Put pyprof's hook on top of domain i, over whatever is there now. With
 * the GIL; RAW first, so that the MEM and OBJ probes find it. */
static void
install(int i, int pymalloc, uint64_t rate)
{
    mem_domain *d = &g_domains[i];
    d->domain = DOMAINS[i];
    PyMem_GetAllocator(DOMAINS[i], &d->prev);
    /* Does the previous allocator hand large requests to the RAW domain,
     * as pymalloc does? Asked with a request no pool serves. */
    d->nests = i != RAW_INDEX && raw_hook_sees(&d->prev, 4 * NESTS_ABOVE);
    d->direct = pymalloc && d->nests && rate >= DIRECT_MIN_RATE;
    PyMemAllocatorEx general = {d, hook_gil_malloc, hook_gil_calloc,
                                hook_gil_realloc, hook_free};
    PyMemAllocatorEx raw = {d, hook_raw_malloc, hook_raw_calloc,
                            hook_raw_realloc, hook_free};
    PyMemAllocatorEx mem = {d->prev.ctx, hook_mem_malloc, hook_mem_calloc,
                            hook_mem_realloc, d->prev.free};
    PyMemAllocatorEx obj = {d->prev.ctx, hook_obj_malloc, hook_obj_calloc,
                            hook_obj_realloc, d->prev.free};
    d->ours = i == RAW_INDEX   ? raw
              : !d->direct     ? general
              : i == MEM_INDEX ? mem
                               : obj;
    PyMem_SetAllocator(DOMAINS[i], &d->ours);
    g_installed[i] = 1;
}

/* Does domain i's allocator chain still call pyprof's hook? On top, it
 * does; below another hook, a marked request through the whole chain
 * tells. With the GIL, while sampling. */
static int
reachable(int i)
{
    if (hooked(DOMAINS[i], &g_domains[i]))
        return 1;
    PyMemAllocatorEx top;
    PyMem_GetAllocator(DOMAINS[i], &top);
    if (i == RAW_INDEX)
        return raw_hook_sees(&top, 1);
    /* A count of zero sends the next MEM or OBJ request to the slow path,
     * which sees g_probing and only marks it. */
    int64_t left = atomic_load_explicit(&g_countdown, memory_order_relaxed);
    atomic_store_explicit(&g_countdown, 0, memory_order_relaxed);
    g_probing = 1;
    g_probe_seen = 0;
    top.free(top.ctx, top.malloc(top.ctx, 1));
    g_probing = 0;
    atomic_store_explicit(&g_countdown, left, memory_order_relaxed);
    return g_probe_seen;
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
    g_filter_count = calloc(FILTER_SIZE, sizeof(uint16_t));
    if (!g_scratch || !g_stacks || !g_filter_count) {
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
    atomic_store_explicit(&g_countdown, draw_countdown(rate),
                          memory_order_relaxed);
    pthread_mutex_unlock(&g_mlock);

    int pymalloc = plain_pymalloc();
    for (int i = 0; i < NDOMAINS; i++) {
        /* Still in another hook's chain from an earlier start (that hook
         * calls us as its previous allocator): stay there, unless that
         * hook has since been taken down and the chain no longer leads
         * to us (tracemalloc.stop() puts back what it found). */
        if (!g_installed[i] || !reachable(i))
            install(i, pymalloc, rate);
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
    atomic_store_explicit(&g_countdown, INT64_MAX, memory_order_relaxed);
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
pyprof_mem_check_hooks(void)
{
    int put_back = 0;
    PyGILState_STATE gil = PyGILState_Ensure();
    if (enabled()) {
        for (int i = 0; i < NDOMAINS; i++) {
            if (g_installed[i] && !reachable(i)) {
                /* The general way: blocks sampled under the hook that
                 * was taken down are ordinary pymalloc blocks, whose
                 * frees only a hooked free sees. */
                install(i, 0, g_rate);
                put_back++;
            }
        }
        if (put_back) {
            pthread_mutex_lock(&g_mlock);
            g_mstats.unhooked++;
            pthread_mutex_unlock(&g_mlock);
        }
    }
    PyGILState_Release(gil);
    return put_back;
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
     * still be seen. A RAW countdown that never runs out keeps it off the
     * RAW slow path; t_ignore keeps it from sampling when a restart sends
     * it there, or when its MEM or OBJ allocation crosses the shared count
     * (whose next count is drawn as usual: an ignored byte is as likely to
     * be picked as any other, only its sample is dropped).
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
