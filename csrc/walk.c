/* walk.c - read the interrupted thread's Python stack from the sampling
 * signal's handler. This is the only file built against CPython's
 * internal headers (Py_BUILD_CORE), because the frame structures it
 * reads are private and change with every minor version; keep it that way.
 *
 * Rules for everything here: no allocation, no locks, no reference count
 * changes, no C-API call except the thread-local read of the current
 * thread state. Frames belong to the interrupted thread, so they cannot
 * change under us, but the thread may have been stopped half-way through
 * pushing or popping one: every pointer is checked before use, the walk
 * is bounded, and a frame that looks corrupt ends the walk (its `previous`
 * link cannot be trusted either) and is counted; the handler then drops
 * the whole sample rather than record a stack with its outer part missing.
 *
 * It also lists thread states under the runtime's own lock for that list,
 * which is private too.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#if PY_VERSION_HEX >= 0x030B0000
#include <internal/pycore_frame.h>
#else
#include <frameobject.h>
#endif
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
#include <internal/pycore_pystate.h>
#endif
#include <internal/pycore_runtime.h>
#include <pthread.h>

#include "core_internal.h"

#if PY_VERSION_HEX < 0x03090000 || PY_VERSION_HEX >= 0x030E0000
#error "pyprof's frame walker supports CPython 3.9 to 3.13"
#endif

void *
pyprof_current_tstate(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return PyThreadState_GetUnchecked();
#elif PY_VERSION_HEX >= 0x030C0000
    return _PyThreadState_GetCurrent();
#else
    /* Thread-specific storage, not _PyThreadState_GET(): before 3.12 the
     * latter is the thread holding the GIL, which need not be us. It
     * holds the first thread state made on this thread and is not moved
     * by a switch of interpreter, so a main-interpreter thread running a
     * subinterpreter reads as its main thread state, whose frames end at
     * the call that entered the subinterpreter: its time is charged to
     * that call. */
    return PyGILState_GetThisThreadState();
#endif
}

/* A plausible object pointer whose type is exactly code. */
static inline int
is_code(const void *p)
{
    if (!p || ((uintptr_t)p & (sizeof(void *) - 1)))
        return 0;
    return Py_TYPE((PyObject *)p) == &PyCode_Type;
}

/* Is tstate one of the main interpreter's? Another interpreter's code
 * objects live in memory that interpreter owns (on 3.12 and later, in
 * obmalloc arenas freed wholesale when it ends), and nothing tells the
 * drain when that happens: a record naming one could be resolved after
 * its interpreter is gone. So such a stack is recorded as the single
 * PYPROF_CODE_SUBINTERP frame and its code objects are never named,
 * marked or kept alive. The tstate is the interrupted thread's own, alive
 * while that thread is stopped in the handler. */
static inline int
in_main_interp(const PyThreadState *tstate)
{
    return tstate->interp == _PyRuntime.interpreters.main;
}

static inline void
push_subinterp(pyprof_stackw *w)
{
    pyprof_stackw_push(w, (void *)(uintptr_t)PYPROF_CODE_SUBINTERP, 0);
}

/* Clamp an instruction offset (code units) into the code object. */
static inline int32_t
clamp_instr(PyCodeObject *code, Py_ssize_t instr)
{
#if PY_VERSION_HEX >= 0x030B0000
    Py_ssize_t units = Py_SIZE(code);
#else
    Py_ssize_t units = PyBytes_GET_SIZE(code->co_code) / 2;
#endif
    if (instr < 0)
        return 0;
    if (instr >= units)
        return units > 0 ? (int32_t)(units - 1) : 0;
    return (int32_t)instr;
}

#if PY_VERSION_HEX >= 0x030B0000

/* 3.11+: _PyInterpreterFrame chain. */
uint32_t
pyprof_walk(void *tstate_p, pyprof_stackw *w)
{
    PyThreadState *tstate = tstate_p;
    uint32_t bad = 0;
    if (!in_main_interp(tstate)) {
        push_subinterp(w);
        return 0;
    }
#if PY_VERSION_HEX >= 0x030D0000
    _PyInterpreterFrame *frame = tstate->current_frame;
#else
    /* cframe is NULL for a moment while a thread starts. */
    _PyCFrame *cframe = tstate->cframe;
    if (!cframe)
        return 0;
    _PyInterpreterFrame *frame = cframe->current_frame;
#endif
    for (int steps = 0; frame && steps < PYPROF_WALK_LIMIT; steps++,
             frame = frame->previous) {
        if ((uintptr_t)frame & (sizeof(void *) - 1)) {
            bad++;
            break;
        }
#if PY_VERSION_HEX >= 0x030C0000
        /* C-stack shims that mark entry into the interpreter: not code. */
        if (frame->owner == FRAME_OWNED_BY_CSTACK)
            continue;
#endif
#if PY_VERSION_HEX >= 0x030D0000
        PyObject *exe = frame->f_executable;
        if (!is_code(exe)) {
            /* None for frames that run no code object; anything else is
             * garbage. */
            if (exe != Py_None) {
                bad++;
                break;
            }
            continue;
        }
        PyCodeObject *code = (PyCodeObject *)exe;
        _Py_CODEUNIT *at = frame->instr_ptr;
#else
        PyCodeObject *code = frame->f_code;
        if (!is_code(code)) {
            bad++;
            break;
        }
        _Py_CODEUNIT *at = frame->prev_instr;
#endif
        _Py_CODEUNIT *start = _PyCode_CODE(code);
        /* Incomplete: pushed but not yet running its first traceable
         * instruction; its locals may not be set up. CPython hides these
         * from tracebacks too. */
        if (frame->owner != FRAME_OWNED_BY_GENERATOR &&
            at < start + code->_co_firsttraceable)
            continue;
        pyprof_seen_mark(code);
        pyprof_stackw_push(w, code, clamp_instr(code, at - start));
    }
    return bad;
}

#else

/* 3.9, 3.10: PyFrameObject chain. */
uint32_t
pyprof_walk(void *tstate_p, pyprof_stackw *w)
{
    PyThreadState *tstate = tstate_p;
    uint32_t bad = 0;
    if (!in_main_interp(tstate)) {
        push_subinterp(w);
        return 0;
    }
    PyFrameObject *frame = tstate->frame;
    for (int steps = 0; frame && steps < PYPROF_WALK_LIMIT; steps++,
             frame = frame->f_back) {
        if ((uintptr_t)frame & (sizeof(void *) - 1)) {
            bad++;
            break;
        }
        PyCodeObject *code = frame->f_code;
        if (!is_code(code)) {
            bad++;
            break;
        }
#if PY_VERSION_HEX >= 0x030A0000
        Py_ssize_t instr = frame->f_lasti; /* code units; -1 before start */
#else
        Py_ssize_t instr = frame->f_lasti / 2; /* bytes; -1 before start */
#endif
        pyprof_seen_mark(code);
        pyprof_stackw_push(w, code, clamp_instr(code, instr));
    }
    return bad;
}

#endif

/* ---- thread states ------------------------------------------------------ */

/* The lock CPython holds while it links or unlinks a thread state. Taken
 * without the GIL (cffi has released it), so there is no lock-order
 * problem with the GIL: CPython never waits for the GIL while holding it. */
static void
heads_lock(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    /* No thread state is attached here, so this never detaches one. */
    PyMutex_Lock(&_PyRuntime.interpreters.mutex);
#else
    PyThread_acquire_lock(_PyRuntime.interpreters.mutex, WAIT_LOCK);
#endif
}

static void
heads_unlock(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyMutex_Unlock(&_PyRuntime.interpreters.mutex);
#else
    PyThread_release_lock(_PyRuntime.interpreters.mutex);
#endif
}

int
pyprof_threads_list(uint64_t *ids, int32_t *tids, uint32_t max)
{
    uint32_t n = 0;
    heads_lock();
    PyInterpreterState *interp = PyInterpreterState_Main();
    for (PyThreadState *ts = interp ? PyInterpreterState_ThreadHead(interp)
                                    : NULL;
         ts && n < max; ts = PyThreadState_Next(ts)) {
        int32_t tid = 0;
#if PY_VERSION_HEX >= 0x030B0000
        tid = (int32_t)ts->native_thread_id;
#endif
        /* Before 3.11 (and for a moment in a new thread on 3.11+) only
         * the pthread handle is known; its CPU clock id encodes the
         * kernel tid as ~tid << 3 | flags. The thread is alive: it
         * unlinks its state, under this lock, before it ends. */
        if (tid <= 0 && ts->thread_id) {
            clockid_t clock;
            if (pthread_getcpuclockid((pthread_t)ts->thread_id, &clock) == 0)
                tid = ~((int32_t)clock >> 3); /* arithmetic shift */
        }
        ids[n] = (uint64_t)ts->id;
        tids[n] = tid > 0 ? tid : 0;
        n++;
    }
    heads_unlock();
    return (int)n;
}
