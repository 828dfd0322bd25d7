/* sampler.c - timers, the sampling signal's handler, fork and stop.
 *
 * Each thread that runs Python gets its own POSIX timer on its own CPU
 * clock, delivering a signal to that very thread (SIGEV_THREAD_ID), so a
 * sample always describes the thread whose CPU time elapsed. Which
 * threads to arm is decided by the Python drain thread (it sees thread
 * states come and go); this file only keeps the table of timers.
 *
 * The signal is a real-time one the program leaves at its default action
 * (searched from SIGRTMAX down), not SIGPROF, so that a program using
 * SIGPROF, SIGALRM, setitimer or its own POSIX timers keeps them to
 * itself. SIGPROF is the last choice, taken only when every real-time
 * signal has a handler. If the program later installs a handler for the
 * signal in use, pyprof_sampler_check() (called by the drain thread)
 * notices, leaves that signal to the program and moves every timer to
 * another free one, or stops sampling when none is left.
 *
 * Where timer_create is refused, one process-wide setitimer(ITIMER_PROF)
 * takes over (SIGPROF only), and the kernel then picks which running
 * thread gets the signal. That fallback is never used while the program
 * has a SIGPROF handler or an ITIMER_PROF of its own running.
 *
 * Shared state and what protects it:
 *   g_active, g_in_handler, stat counters: atomics (read by the handler)
 *   g_ring: swapped only while stopped with no handler inside
 *   timer table, g_period, g_rng: g_lock (Python threads, fork hooks)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core_internal.h"

#define MAX_TIMERS 4096

typedef struct {
    int32_t tid;   /* 0: free entry */
    timer_t timer;
} thread_timer;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static thread_timer g_timers[MAX_TIMERS]; /* g_lock */
static int g_ntimers;                     /* g_lock; highest used + 1 */
static struct timespec g_period;          /* g_lock */
static uint64_t g_rng;                    /* g_lock */
static int g_timer_kind;                  /* g_lock; PYPROF_TIMER_* */
static int g_atfork_done;                 /* g_lock */

static pyprof_ring *g_ring;
static _Atomic int g_active;        /* handler records only when set */
static _Atomic int g_in_handler;    /* handlers currently running */
static uint64_t g_period_ns;        /* set before g_active, then read-only */
/* ITIMER_PROF cannot report overruns: each of its signals stands for the
 * process CPU time used since the previous one, read here. */
static _Atomic uint64_t g_itimer_last_cpu;
static struct sigaction g_old_action;
static int g_handler_installed;
/* The signal the timers deliver; 0 while none is chosen. Written under
 * g_lock while no timer uses it yet, read by the handler. */
static _Atomic int g_signo;
/* Signals the program took from us during this run: never chosen again. */
static sigset_t g_taken;                  /* g_lock */
static uint32_t g_moves;                  /* g_lock */
/* Timer signals carry this address, telling them from a kill() or from a
 * timer of the program's that happens to use the same signal. */
static const char g_cookie[] = "pyprof";

static struct {
    _Atomic uint64_t signals, samples, periods, truncated, bad_frames,
        no_python, empty, stray;
} g_stats;

static inline void
stat_add(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

/* ---- the handler ------------------------------------------------------ */

static uint32_t
itimer_weight(void)
{
    struct timespec cpu;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    uint64_t now = (uint64_t)cpu.tv_sec * 1000000000u + (uint64_t)cpu.tv_nsec;
    uint64_t prev = atomic_exchange(&g_itimer_last_cpu, now);
    if (now <= prev)
        return 1;
    uint64_t periods = (now - prev + g_period_ns / 2) / g_period_ns;
    if (periods < 1)
        return 1;
    return periods > UINT32_MAX ? UINT32_MAX : (uint32_t)periods;
}

static void
on_sample(int sig, siginfo_t *info, void *ucontext)
{
    (void)sig;
    (void)ucontext;
    int saved_errno = errno;
    atomic_fetch_add_explicit(&g_in_handler, 1, memory_order_acquire);
    if (!atomic_load_explicit(&g_active, memory_order_acquire))
        goto out;
    /* With per-thread timers, a SIGPROF from anywhere else (an itimer set
     * by someone, a kill) would be attributed to whatever thread got it. */
    int from_timer = info && info->si_code == SI_TIMER &&
                     info->si_value.sival_ptr == (void *)g_cookie;
    if (g_timer_kind == PYPROF_TIMER_THREAD_CPU && !from_timer) {
        stat_add(&g_stats.stray, 1);
        goto out;
    }
    uint32_t weight = 1;
    if (from_timer && info->si_overrun > 0)
        weight += (uint32_t)info->si_overrun;
    if (g_timer_kind == PYPROF_TIMER_ITIMER)
        weight = itimer_weight();
    stat_add(&g_stats.signals, 1);

    void *tstate = pyprof_current_tstate();
    if (!tstate) {
        stat_add(&g_stats.no_python, 1);
        goto out;
    }
    uint64_t pos;
    pyprof_record_head *rec = pyprof_ring_reserve(g_ring, &pos);
    if (!rec)
        goto out; /* counted by the ring as dropped */
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    rec->time_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    rec->weight = weight;
    rec->tid = (int32_t)syscall(SYS_gettid);
    pyprof_stackw w;
    pyprof_stackw_init(&w, rec, pyprof_ring_max_frames(g_ring));
    uint32_t bad = pyprof_walk(tstate, &w);
    pyprof_stackw_finish(&w, rec);
    if (bad) {
        /* Half a stack would charge its outer frames nothing: drop it. */
        rec->depth = 0;
        rec->truncated = 0;
    }
    pyprof_ring_publish(g_ring, pos);
    if (bad) {
        stat_add(&g_stats.bad_frames, bad);
    } else if (rec->depth == 0) {
        stat_add(&g_stats.empty, 1); /* the drain skips these */
    } else {
        stat_add(&g_stats.samples, 1);
        stat_add(&g_stats.periods, weight);
        if (rec->truncated)
            stat_add(&g_stats.truncated, 1);
    }
out:
    atomic_fetch_sub_explicit(&g_in_handler, 1, memory_order_release);
    errno = saved_errno;
}

/* ---- timers ----------------------------------------------------------- */

/* xorshift64*: the first expiry of each timer is uniform in (0, period],
 * so threads that live shorter than a period are still sampled in
 * proportion to their CPU time. */
static uint64_t
rng_next_unlocked(void)
{
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return g_rng * 0x2545F4914F6CDD1DULL;
}

static struct itimerspec
first_expiry_unlocked(void)
{
    uint64_t period_ns = (uint64_t)g_period.tv_sec * 1000000000u +
                         (uint64_t)g_period.tv_nsec;
    uint64_t first = 1 + rng_next_unlocked() % period_ns;
    struct itimerspec spec;
    spec.it_interval = g_period;
    spec.it_value.tv_sec = (time_t)(first / 1000000000u);
    spec.it_value.tv_nsec = (long)(first % 1000000000u);
    return spec;
}

/* The CPU-time clock of kernel thread tid, as the kernel encodes it
 * (the same value pthread_getcpuclockid returns). */
static clockid_t
thread_cpu_clock(int32_t tid)
{
    return (clockid_t)((~(uint32_t)tid << 3) | 6u);
}

static int
timer_make(int32_t tid, timer_t *out)
{
    struct sigevent sev;
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = atomic_load(&g_signo);
    sev.sigev_value.sival_ptr = (void *)g_cookie;
    sev._sigev_un._tid = tid;
    return timer_create(thread_cpu_clock(tid), &sev, out);
}

int32_t
pyprof_gettid(void)
{
    return (int32_t)syscall(SYS_gettid);
}

int
pyprof_thread_arm(int32_t tid)
{
    int rc = PYPROF_OK;
    if (tid <= 0)
        return PYPROF_EINVAL;
    pthread_mutex_lock(&g_lock);
    if (!atomic_load(&g_active) || g_timer_kind != PYPROF_TIMER_THREAD_CPU)
        goto out;
    int free_slot = -1;
    for (int i = 0; i < g_ntimers; i++) {
        if (g_timers[i].tid == tid)
            goto out; /* already armed */
        if (!g_timers[i].tid && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0) {
        if (g_ntimers == MAX_TIMERS) {
            rc = PYPROF_EFULL;
            goto out;
        }
        free_slot = g_ntimers++;
    }
    timer_t timer;
    if (timer_make(tid, &timer) != 0) {
        rc = PYPROF_ETIMER; /* e.g. the thread has just exited */
        goto out;
    }
    struct itimerspec spec = first_expiry_unlocked();
    if (timer_settime(timer, 0, &spec, NULL) != 0) {
        timer_delete(timer);
        rc = PYPROF_ETIMER;
        goto out;
    }
    g_timers[free_slot].tid = tid;
    g_timers[free_slot].timer = timer;
out:
    pthread_mutex_unlock(&g_lock);
    return rc;
}

int
pyprof_thread_disarm(int32_t tid)
{
    int rc = PYPROF_EINVAL;
    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < g_ntimers; i++) {
        if (g_timers[i].tid == tid) {
            timer_delete(g_timers[i].timer);
            g_timers[i].tid = 0;
            rc = PYPROF_OK;
            break;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return rc;
}

static void
timers_delete_all_unlocked(void)
{
    for (int i = 0; i < g_ntimers; i++) {
        if (g_timers[i].tid)
            timer_delete(g_timers[i].timer);
        g_timers[i].tid = 0;
    }
    g_ntimers = 0;
    if (g_timer_kind == PYPROF_TIMER_ITIMER) {
        struct itimerval off;
        memset(&off, 0, sizeof(off));
        setitimer(ITIMER_PROF, &off, NULL);
    }
}

/* Pause (enable == 0) or resume every timer without deleting it. */
static void
timers_pause_unlocked(int enable)
{
    if (g_timer_kind == PYPROF_TIMER_ITIMER) {
        struct itimerval val;
        memset(&val, 0, sizeof(val));
        if (enable) {
            val.it_interval.tv_sec = g_period.tv_sec;
            val.it_interval.tv_usec = g_period.tv_nsec / 1000;
            val.it_value = val.it_interval;
        }
        setitimer(ITIMER_PROF, &val, NULL);
        return;
    }
    for (int i = 0; i < g_ntimers; i++) {
        if (!g_timers[i].tid)
            continue;
        struct itimerspec spec;
        memset(&spec, 0, sizeof(spec));
        if (enable)
            spec = first_expiry_unlocked();
        timer_settime(g_timers[i].timer, 0, &spec, NULL);
    }
}

/* ---- signal disposition ----------------------------------------------- */

/* A signal the program does not use: default action, and not one it took
 * from us before. */
static int
signal_is_free_unlocked(int signo)
{
    struct sigaction current;
    if (sigismember(&g_taken, signo) == 1)
        return 0;
    if (sigaction(signo, NULL, &current) != 0)
        return 0;
    return !(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_DFL;
}

/* The signal for per-thread timers: the highest free real-time signal
 * (programs that use them mostly count up from SIGRTMIN), else SIGPROF
 * if free, else 0. */
static int
signal_pick_unlocked(void)
{
    for (int signo = SIGRTMAX; signo >= SIGRTMIN; signo--)
        if (signal_is_free_unlocked(signo))
            return signo;
    return signal_is_free_unlocked(SIGPROF) ? SIGPROF : 0;
}

static int
handler_install(int signo)
{
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_sigaction = on_sample;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&action.sa_mask);
    if (sigaction(signo, &action, &g_old_action) != 0)
        return PYPROF_ESIGNAL;
    atomic_store(&g_signo, signo);
    g_handler_installed = 1;
    return PYPROF_OK;
}

/* Is our handler still the one for the signal in use? */
static int
handler_owned_unlocked(void)
{
    struct sigaction current;
    int signo = atomic_load(&g_signo);
    if (!g_handler_installed || !signo ||
        sigaction(signo, NULL, &current) != 0)
        return 0;
    return (current.sa_flags & SA_SIGINFO) && current.sa_sigaction == on_sample;
}

/* Give the signal back to its previous owner. A signal already generated
 * by a deleted timer may still be pending; passing through SIG_IGN
 * discards it (on every thread), so a default action of "terminate"
 * cannot hit us after stop. */
static void
handler_restore(void)
{
    if (!g_handler_installed)
        return;
    int signo = atomic_load(&g_signo);
    struct sigaction current, ignore;
    memset(&ignore, 0, sizeof(ignore));
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(signo, &ignore, &current);
    if (current.sa_sigaction == on_sample)
        sigaction(signo, &g_old_action, NULL);
    else
        sigaction(signo, &current, NULL); /* someone replaced ours */
    g_handler_installed = 0;
}

static void
wait_handlers_out(void)
{
    for (int i = 0; i < 100000 && atomic_load(&g_in_handler); i++)
        sched_yield();
}

/* ---- fork ------------------------------------------------------------- */

/* A fork while timers run: the prepare hook pauses the forking thread's
 * own timer (a clone interrupted by a signal for the forking thread is
 * restarted, and a large process can restart it forever), the parent
 * resumes it with the time it had left, and the child, which inherits no
 * timers and no drain thread, comes out stopped with an empty ring, ready
 * for a new start. Other threads' timers keep running: their signals go to
 * their own threads, and pausing them would throw away the CPU time they
 * had accrued towards their next sample. The process-wide fallback timer
 * is paused as a whole. */
static int g_fork_slot = -1;                 /* g_lock */
static struct itimerspec g_fork_left;         /* g_lock */

static void
atfork_prepare(void)
{
    pthread_mutex_lock(&g_lock);
    g_fork_slot = -1;
    if (!atomic_load(&g_active))
        return;
    if (g_timer_kind == PYPROF_TIMER_ITIMER) {
        timers_pause_unlocked(0);
        return;
    }
    int32_t tid = pyprof_gettid();
    for (int i = 0; i < g_ntimers; i++) {
        if (g_timers[i].tid != tid)
            continue;
        struct itimerspec zero;
        memset(&zero, 0, sizeof(zero));
        if (timer_settime(g_timers[i].timer, 0, &zero, &g_fork_left) == 0)
            g_fork_slot = i;
        break;
    }
}

static void
atfork_parent(void)
{
    if (atomic_load(&g_active)) {
        if (g_timer_kind == PYPROF_TIMER_ITIMER) {
            timers_pause_unlocked(1);
        } else if (g_fork_slot >= 0) {
            struct itimerspec spec = first_expiry_unlocked();
            if (g_fork_left.it_value.tv_sec || g_fork_left.it_value.tv_nsec)
                spec.it_value = g_fork_left.it_value;
            timer_settime(g_timers[g_fork_slot].timer, 0, &spec, NULL);
        }
    }
    g_fork_slot = -1;
    pthread_mutex_unlock(&g_lock);
}

static void
atfork_child(void)
{
    atomic_store(&g_active, 0);
    atomic_store(&g_in_handler, 0);
    memset(g_timers, 0, sizeof(g_timers)); /* timers are not inherited */
    g_ntimers = 0;
    g_timer_kind = PYPROF_TIMER_NONE;
    if (g_ring)
        pyprof_ring_reset(g_ring);
    handler_restore();
    pthread_mutex_unlock(&g_lock);
}

/* ---- lifecycle -------------------------------------------------------- */

int
pyprof_sampler_start(uint32_t rate_hz, uint32_t max_frames, uint32_t nslots,
                     int force_itimer)
{
    if (rate_hz < 1 || rate_hz > 1000000 || max_frames < 4 ||
        max_frames > 4096)
        return PYPROF_EINVAL;
    int rc = PYPROF_OK;
    pthread_mutex_lock(&g_lock);
    if (atomic_load(&g_active)) {
        rc = PYPROF_EBUSY;
        goto out;
    }
    if (!g_atfork_done) {
        if (pthread_atfork(atfork_prepare, atfork_parent, atfork_child)) {
            rc = PYPROF_ENOMEM;
            goto out;
        }
        g_atfork_done = 1;
    }
    wait_handlers_out();
    if (g_ring && (pyprof_ring_max_frames(g_ring) != max_frames ||
                   !pyprof_ring_empty(g_ring))) {
        pyprof_ring_free(g_ring);
        g_ring = NULL;
    }
    if (!g_ring && !(g_ring = pyprof_ring_new(nslots, max_frames))) {
        rc = PYPROF_ENOMEM;
        goto out;
    }
    pyprof_ring_reset(g_ring);
    memset(&g_stats, 0, sizeof(g_stats));
    uint64_t period_ns = 1000000000u / rate_hz;
    g_period_ns = period_ns;
    g_period.tv_sec = (time_t)(period_ns / 1000000000u);
    g_period.tv_nsec = (long)(period_ns % 1000000000u);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    g_rng = ((uint64_t)now.tv_nsec << 20) ^ (uint64_t)getpid() ^
            0x9E3779B97F4A7C15ULL;

    sigemptyset(&g_taken);
    g_moves = 0;
    /* Probe: can this process make a per-thread CPU timer at all? */
    g_timer_kind = PYPROF_TIMER_ITIMER;
    int signo = signal_pick_unlocked();
    atomic_store(&g_signo, signo);
    if (!force_itimer && signo) {
        timer_t probe;
        if (timer_make(pyprof_gettid(), &probe) == 0) {
            timer_delete(probe);
            g_timer_kind = PYPROF_TIMER_THREAD_CPU;
        }
    }
    if (g_timer_kind == PYPROF_TIMER_ITIMER) {
        /* The fallback is SIGPROF's: only while the program leaves both
         * the signal and the timer alone. */
        struct itimerval theirs;
        signo = SIGPROF;
        if (!signal_is_free_unlocked(SIGPROF) ||
            (getitimer(ITIMER_PROF, &theirs) == 0 &&
             (theirs.it_value.tv_sec || theirs.it_value.tv_usec))) {
            g_timer_kind = PYPROF_TIMER_NONE;
            atomic_store(&g_signo, 0);
            rc = PYPROF_EINUSE;
            goto out;
        }
    }
    if ((rc = handler_install(signo)) != PYPROF_OK) {
        g_timer_kind = PYPROF_TIMER_NONE;
        goto out;
    }
    atomic_store(&g_active, 1);
    if (g_timer_kind == PYPROF_TIMER_ITIMER) {
        struct timespec cpu;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
        atomic_store(&g_itimer_last_cpu, (uint64_t)cpu.tv_sec * 1000000000u +
                                             (uint64_t)cpu.tv_nsec);
        timers_pause_unlocked(1);
        struct itimerval check;
        if (getitimer(ITIMER_PROF, &check) != 0 ||
            (!check.it_interval.tv_sec && !check.it_interval.tv_usec)) {
            atomic_store(&g_active, 0);
            handler_restore();
            rc = PYPROF_ETIMER;
            goto out;
        }
    }
out:
    pthread_mutex_unlock(&g_lock);
    return rc;
}

/* Move every armed timer to `signo` (our handler is already installed
 * there). A timer that cannot be remade is dropped; the drain thread's
 * next scan arms its thread again. */
static void
timers_move_unlocked(void)
{
    for (int i = 0; i < g_ntimers; i++) {
        if (!g_timers[i].tid)
            continue;
        struct itimerspec left;
        memset(&left, 0, sizeof(left));
        timer_gettime(g_timers[i].timer, &left);
        timer_delete(g_timers[i].timer);
        timer_t timer;
        if (timer_make(g_timers[i].tid, &timer) != 0) {
            g_timers[i].tid = 0;
            continue;
        }
        struct itimerspec spec = first_expiry_unlocked();
        if (left.it_value.tv_sec || left.it_value.tv_nsec)
            spec.it_value = left.it_value;
        if (timer_settime(timer, 0, &spec, NULL) != 0) {
            timer_delete(timer);
            g_timers[i].tid = 0;
            continue;
        }
        g_timers[i].timer = timer;
    }
}

int
pyprof_sampler_check(void)
{
    int rc = PYPROF_OK;
    pthread_mutex_lock(&g_lock);
    if (!atomic_load(&g_active) || g_timer_kind == PYPROF_TIMER_NONE ||
        handler_owned_unlocked())
        goto out;
    /* The program installed its own handler (or a default action) for our
     * signal: it is the program's from now on. */
    int old = atomic_load(&g_signo);
    sigaddset(&g_taken, old);
    g_handler_installed = 0;
    int signo = 0;
    if (g_timer_kind == PYPROF_TIMER_THREAD_CPU)
        signo = signal_pick_unlocked();
    if (signo && handler_install(signo) == PYPROF_OK) {
        timers_move_unlocked();
        g_moves++;
        rc = signo;
        goto out;
    }
    /* Nowhere to go: stop sampling, leaving the program's timers alone. */
    for (int i = 0; i < g_ntimers; i++) {
        if (g_timers[i].tid)
            timer_delete(g_timers[i].timer);
        g_timers[i].tid = 0;
    }
    g_ntimers = 0;
    if (g_timer_kind == PYPROF_TIMER_ITIMER) {
        /* Off only if the running ITIMER_PROF is still ours (same period);
         * the program may have set its own already. */
        struct itimerval now;
        if (getitimer(ITIMER_PROF, &now) == 0 &&
            now.it_interval.tv_sec == g_period.tv_sec &&
            now.it_interval.tv_usec == g_period.tv_nsec / 1000) {
            struct itimerval off;
            memset(&off, 0, sizeof(off));
            setitimer(ITIMER_PROF, &off, NULL);
        }
    }
    g_timer_kind = PYPROF_TIMER_NONE;
    atomic_store(&g_signo, 0);
    rc = PYPROF_EINUSE;
out:
    pthread_mutex_unlock(&g_lock);
    return rc;
}

int
pyprof_sampler_stop(void)
{
    pthread_mutex_lock(&g_lock);
    if (!atomic_load(&g_active)) {
        pthread_mutex_unlock(&g_lock);
        return PYPROF_ESTATE;
    }
    timers_delete_all_unlocked();
    atomic_store(&g_active, 0);
    handler_restore();
    wait_handlers_out();
    pthread_mutex_unlock(&g_lock);
    return PYPROF_OK;
}

int
pyprof_sampler_running(void)
{
    return atomic_load(&g_active);
}

int
pyprof_sampler_quiet(void)
{
    return !atomic_load(&g_active) && (!g_ring || pyprof_ring_empty(g_ring));
}

size_t
pyprof_sampler_record_size(void)
{
    return g_ring ? pyprof_ring_record_size(g_ring) : 0;
}

uint32_t
pyprof_sampler_drain(void *out, uint32_t max_records)
{
    return g_ring ? pyprof_ring_pop(g_ring, out, max_records) : 0;
}

void
pyprof_sampler_get_stats(pyprof_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->signals = atomic_load(&g_stats.signals);
    out->samples = atomic_load(&g_stats.samples);
    out->periods = atomic_load(&g_stats.periods);
    out->dropped = g_ring ? pyprof_ring_dropped(g_ring) : 0;
    out->truncated = atomic_load(&g_stats.truncated);
    out->bad_frames = atomic_load(&g_stats.bad_frames);
    out->no_python = atomic_load(&g_stats.no_python);
    out->empty = atomic_load(&g_stats.empty);
    out->stray = atomic_load(&g_stats.stray);
    pthread_mutex_lock(&g_lock);
    out->timer = g_timer_kind;
    for (int i = 0; i < g_ntimers; i++)
        out->armed += g_timers[i].tid != 0;
    out->signo = g_timer_kind == PYPROF_TIMER_NONE ? 0 : atomic_load(&g_signo);
    out->moves = g_moves;
    pthread_mutex_unlock(&g_lock);
}
