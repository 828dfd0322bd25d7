/* pyprof_core.h - the public API of pyprof's C sampling core.
 *
 * This is the only header the cffi binding sees (pyprof/_build_core.py
 * reads the block between the CDEF markers and hands it to ffi.cdef), so
 * it holds plain C types only: no Python.h, no preprocessor logic inside
 * that block.
 *
 * Pipeline: a signal handler (sampler.c, on per-thread CPU timers) walks
 * the interrupted thread's Python frames (walk.c) into a fixed-size
 * record of a lock-free ring (ring.c). A Python drain thread copies records out with
 * pyprof_sampler_drain(), aggregates them, then turns code pointers into
 * names with the GIL-holding helpers of pyapi.c.
 *
 * Return contract: 0 (or a count) on success, a negative PYPROF_E* code
 * on failure; errno alone is never the report.
 */
#ifndef PYPROF_CORE_H
#define PYPROF_CORE_H

#include <stddef.h>
#include <stdint.h>

/* CDEF-BEGIN */
#define PYPROF_OK 0
#define PYPROF_EINVAL -1   /* bad argument: rate, size, slot */
#define PYPROF_ENOMEM -2   /* allocation failed */
#define PYPROF_EBUSY -3    /* already running */
#define PYPROF_ETIMER -4   /* timer_create/setitimer failed */
#define PYPROF_ESIGNAL -5  /* sigaction failed */
#define PYPROF_EFULL -6    /* ring full or timer table full */
#define PYPROF_ESTATE -7   /* not initialised / not running */
#define PYPROF_EINUSE -8   /* the program uses the signal or timer we need */

#define PYPROF_TIMER_NONE 0
#define PYPROF_TIMER_THREAD_CPU 1
#define PYPROF_TIMER_ITIMER 2

/* One sample: a header followed by max_frames frame slots, of which the
 * first `depth` are valid, innermost first. When the stack was deeper
 * than max_frames, `truncated` frames were cut between frame[inner-1]
 * and frame[inner] (inner = max_frames / 2). Bytes 12..(24 + 16 * depth)
 * identify the stack (tid, depth, truncated, frames): the drain uses them
 * as the aggregation key, so unused bytes are always zero. */
typedef struct {
    uint64_t time_ns;   /* CLOCK_MONOTONIC when the signal was handled */
    uint32_t weight;    /* timer periods this sample stands for: 1 + overruns */
    int32_t tid;        /* kernel thread id of the sampled thread */
    uint32_t depth;     /* valid frames */
    uint32_t truncated; /* frames cut from the middle, 0 if none */
} pyprof_record_head;

/* The code pointer of the one frame that stands for a stack running in
 * another interpreter than the main one (a subinterpreter), whose code
 * objects are never read (see walk.c). Never a real object's address. */
#define PYPROF_CODE_SUBINTERP 1

typedef struct {
    void *code;     /* PyCodeObject *, borrowed; see pyapi.c for lifetime */
    int32_t instr;  /* instruction offset in code units (2 bytes each) */
    int32_t zero;   /* always 0 */
} pyprof_frame;

typedef struct {
    uint64_t signals;     /* timer signals handled while sampling */
    uint64_t samples;     /* records written to the ring */
    uint64_t periods;     /* sum of weights of written records */
    uint64_t dropped;     /* records lost because the ring was full */
    uint64_t truncated;   /* records whose stack was cut */
    uint64_t bad_frames;  /* samples dropped: a frame looked corrupt */
    uint64_t no_python;   /* signals on a thread without a Python state */
    uint64_t empty;       /* signals on a Python thread with no frame */
    uint64_t stray;       /* our signal, not sent by one of our timers */
    int32_t timer;        /* PYPROF_TIMER_* */
    int32_t armed;        /* threads with a live per-thread timer */
    int32_t signo;        /* the signal our timers deliver; 0 when none */
    uint32_t moves;       /* times the program took our signal and we moved */
} pyprof_stats;

typedef struct pyprof_ring pyprof_ring;

/* Ring of fixed-size records, many producers (signal handlers on any
 * thread), one consumer. nslots must be a power of two.
 * Context: any; push is async-signal-safe and never blocks. */
pyprof_ring *pyprof_ring_new(uint32_t nslots, uint32_t max_frames);
void pyprof_ring_free(pyprof_ring *ring);
size_t pyprof_ring_record_size(const pyprof_ring *ring);
uint32_t pyprof_ring_max_frames(const pyprof_ring *ring);
uint64_t pyprof_ring_dropped(const pyprof_ring *ring);
/* Copy up to max_records published records, in order, into out (an array
 * of record_size-byte records); returns how many. Single consumer only. */
uint32_t pyprof_ring_pop(pyprof_ring *ring, void *out, uint32_t max_records);

/* Test entry points (tests/c). test_push writes a record whose fields are
 * all derived from `pattern` (see ring.c); returns 0 or PYPROF_EFULL.
 * test_spawn starts nthreads pthreads that each push `count` patterned
 * records as fast as they can; test_join waits for them and returns how
 * many pushes failed because the ring was full. test_trunc runs the
 * truncating frame writer over a synthetic stack of `total` frames whose
 * code pointers are 1..total (innermost first) into one record. */
int pyprof_ring_test_push(pyprof_ring *ring, int32_t tid, uint32_t depth,
                          uint64_t pattern);
int pyprof_ring_test_spawn(pyprof_ring *ring, int nthreads, uint32_t count);
int64_t pyprof_ring_test_join(void);
int pyprof_ring_test_check(const void *record, uint32_t max_frames);
int pyprof_ring_test_trunc(uint32_t total, uint32_t max_frames, void *out);

/* Sampler lifecycle. Context: Python thread; these calls take the GIL
 * themselves where they need it (cffi releases it around every call). */
int pyprof_sampler_start(uint32_t rate_hz, uint32_t max_frames,
                         uint32_t nslots, int force_itimer);
int pyprof_sampler_stop(void);
/* Is our handler still installed for our signal? If the program has
 * installed its own since, leave that signal to it: move the timers to
 * another free signal and return its number (> 0), or, with none left,
 * stop sampling and return PYPROF_EINUSE. 0 when nothing changed. */
int pyprof_sampler_check(void);
int pyprof_sampler_running(void);
size_t pyprof_sampler_record_size(void);
uint32_t pyprof_sampler_drain(void *out, uint32_t max_records);
void pyprof_sampler_get_stats(pyprof_stats *out);
/* Arm a per-thread CPU timer on kernel thread `tid`; returns 0, or a
 * negative code (PYPROF_ETIMER when timer_create fails). */
int pyprof_thread_arm(int32_t tid);
int pyprof_thread_disarm(int32_t tid);
int32_t pyprof_gettid(void);

/* Python thread states of the main interpreter: fills ids[i] (the
 * PyThreadState id) and tids[i] (kernel tid, 0 if not known yet); returns
 * how many (at most max). Holds CPython's thread-list lock, not the GIL;
 * call it without the GIL (as cffi does). */
int pyprof_threads_list(uint64_t *ids, int32_t *tids, uint32_t max);

/* Code objects. For each of n code pointers taken from drained records,
 * dict[address] = the code object (dict is the address of a Python dict,
 * i.e. id(d)); lines[i] = the line executing at instrs[i]. Takes the GIL.
 * Valid only for pointers from records drained since the last
 * pyprof_codes_release(). */
int pyprof_codes_resolve(void *dict, void **codes, int32_t *instrs,
                         int32_t *lines, uint32_t n);
/* Start keeping sampled code objects alive (installs the dealloc hook
 * the first time). Call before pyprof_sampler_start. Takes the GIL. */
int pyprof_codes_enable(void);
/* Code objects parked since the sampler started (kept alive because a
 * record might still name them). Release the first n once every record
 * written before they were parked has been resolved. Takes the GIL. */
uint32_t pyprof_codes_parked(void);
void pyprof_codes_release(uint32_t n);
/* Test entry point (tests/sampler): run `source` on a new pthread that
 * enters Python through PyGILState_Ensure, as C libraries' threads do;
 * returns when it is done, with PyRun_SimpleString's result. */
int pyprof_test_c_thread(const char *source);
/* Call graph edges (graphagg.c), for pyprof.graph. Locations are
 * 0..nlocs-1; location l has the entries loc_start[l] .. loc_start[l+1]-1
 * (graph node 0..nnodes-1, and 1 when the call into it is inlined), root
 * side first. Sample s has the locations sample_locs[sample_start[s]] ..
 * sample_locs[sample_start[s+1]-1], leaf first, and the value weights[s].
 * On success *out holds the edges (free with pyprof_edges_free) and the
 * return is >= 0; PYPROF_EINVAL for an index out of range, PYPROF_ENOMEM.
 * Pure computation: no GIL needed, no global state. */
typedef struct pyprof_edges pyprof_edges;
int pyprof_edges_build(uint32_t nlocs, const uint32_t *loc_start,
                       const int32_t *entry_node, const uint8_t *entry_inline,
                       uint32_t nnodes, uint32_t nsamples,
                       const uint64_t *sample_start, const uint32_t *sample_locs,
                       const int64_t *weights, pyprof_edges **out);
/* How many edges, and a copy of them in the order first met: caller and
 * callee nodes, summed weight, 1 when every counted call was inlined. */
uint32_t pyprof_edges_count(const pyprof_edges *e);
void pyprof_edges_copy(const pyprof_edges *e, int32_t *caller, int32_t *callee,
                       int64_t *weight, uint8_t *inline_all);
void pyprof_edges_free(pyprof_edges *e);
/* Flat and cum values of graph nodes 0..nnodes-1 (graphagg.c). Location
 * l (0..nlocs-1) has nodes entry_node[loc_start[l]] .. [loc_start[l+1]-1],
 * innermost first; sample s has the location ids sample_ids[sample_start[s]]
 * .. [sample_start[s+1]-1], leaf first, mapped to locations by id_index
 * (nids entries, -1 for none), and adds weights[s] (and divisors[s], when
 * not NULL, to the _div sums). The four outputs are zeroed by the caller.
 * PYPROF_EINVAL for an unknown id or node, PYPROF_ENOMEM. No GIL needed;
 * the caller keeps the sums within int64. */
int pyprof_node_values(uint32_t nlocs, const uint32_t *loc_start,
                       const int32_t *entry_node, uint32_t nnodes,
                       uint64_t nids, const int64_t *id_index,
                       uint32_t nsamples, const uint64_t *sample_start,
                       const uint64_t *sample_ids, const int64_t *weights,
                       const int64_t *divisors, int64_t *flat, int64_t *cum,
                       int64_t *flat_div, int64_t *cum_div);
/* ---- memory profiling (memory.c) ---------------------------------------
 * Sampled allocations through CPython's allocator hooks (RAW, MEM, OBJ).
 * Counts and bytes come raw (what was sampled) and unbiased (each sample
 * of s bytes weighted 1 / (1 - exp(-s / rate)), 1 at rate 1), as doubles. */
typedef struct {
    uint64_t rate;             /* mean bytes between samples */
    uint64_t samples;          /* allocations sampled */
    uint64_t frees;            /* sampled blocks freed */
    uint64_t live;             /* sampled blocks live now */
    uint64_t stacks;           /* distinct stacks interned */
    uint64_t untracked;        /* samples not tracked live: table at bound */
    uint64_t stack_overflow;   /* samples whose stack found no room */
    uint64_t bad_stacks;       /* samples whose stack looked corrupt */
    uint64_t table_bytes;      /* pyprof's own tables now */
    uint64_t peak_table_bytes; /* and at their largest */
    uint64_t unhooked;         /* times another tool took the hooks down */
} pyprof_mem_stats;

typedef struct {
    uint64_t frames_at;        /* first frame in the frames array */
    uint32_t depth;            /* frames, innermost first */
    uint32_t truncated;        /* frames cut from the middle */
    uint64_t alloc_count;
    uint64_t alloc_bytes;
    uint64_t inuse_count;
    uint64_t inuse_bytes;
    double alloc_objects;
    double alloc_space;
    double inuse_objects;
    double inuse_space;
} pyprof_mem_stack;

/* Install the hooks (or re-enable hooks another allocator still chains
 * to) and start sampling every `rate` bytes on average, 1 for every
 * allocation. PYPROF_EBUSY when running. Takes the GIL. */
int pyprof_mem_start(uint64_t rate, uint32_t max_frames);
/* Stop, unhook where pyprof's hook is on top, free the tables.
 * PYPROF_ESTATE when it was not running. Takes the GIL. */
int pyprof_mem_stop(void);
int pyprof_mem_running(void);
/* Put back any hook another tool has taken out of its chain (as
 * tracemalloc.stop() does when pyprof started after tracemalloc); returns
 * how many domains. Takes the GIL. */
int pyprof_mem_check_hooks(void);
void pyprof_mem_get_stats(pyprof_mem_stats *out);
/* Do not sample the calling thread's allocations while set (pyprof's own
 * work on a snapshot); its frees are still tracked. */
void pyprof_mem_ignore_thread(int ignore);
/* How many stacks, and frames in all of them, a snapshot needs now. */
uint32_t pyprof_mem_sizes(uint64_t *nframes);
/* Copy every stack (stack 0 collects samples that found no room) with
 * its values into out[0..n-1] and their frames into frames; returns n,
 * PYPROF_EFULL when the arrays are too small (ask pyprof_mem_sizes again)
 * or PYPROF_ESTATE when not running. Code pointers stay valid while the
 * memory sampler runs (see pyprof_codes_hold). */
int pyprof_mem_snapshot(pyprof_mem_stack *out, uint32_t max_stacks,
                        pyprof_frame *frames, uint64_t max_frames);
/* Keep every code object a sample may name alive (parked) while held;
 * on release, parked objects go once the CPU sampler no longer needs
 * them. Takes the GIL. */
void pyprof_codes_hold(int hold);
/* CDEF-END */

#endif /* PYPROF_CORE_H */
