/* pyapi.c - the parts of the core that need the GIL: handing code objects
 * to Python, computing line numbers, and keeping sampled code objects
 * alive until their records are resolved. Public C-API only (no CPython
 * internals). cffi releases the GIL around every call, so each entry
 * point takes it back with PyGILState_Ensure.
 *
 * Code object lifetime. A record names a code object by its address,
 * borrowed: the handler cannot take a reference. The object cannot die
 * while it is on a stack (frames own their code), but it can die after
 * its frame returns and before the drain reads the record, and a new code
 * object may then take the same address. To keep resolution exact,
 * PyCode_Type.tp_dealloc is wrapped: a code object whose address the
 * handler has marked in the `pyprof_seen` bitmap is not freed but
 * resurrected (refcount back to 1) and parked. Every record naming it was
 * published before it died (the handler that read it ran while a frame
 * still owned it), so once the drain has resolved everything published
 * up to a point, the objects parked before that point can go. A parked
 * object is released with the hook told to let it through. False
 * positives in the bitmap only delay a free by one drain interval.
 *
 * The memory sampler's stacks name code objects for as long as it runs
 * (they are resolved at every snapshot). While it runs, the parked
 * objects that one of its stacks names are moved, at the release point,
 * to a held list kept until it stops; the others go as usual. So a
 * program that keeps compiling code (exec, eval, templates) keeps alive
 * only the code objects its heap samples name, not every one the CPU
 * sampler saw.
 *
 * Only the main interpreter's code objects are parked. A subinterpreter's
 * live in memory it owns (its own obmalloc arenas from 3.12), and freeing
 * one from the main interpreter after the subinterpreter has ended frees
 * memory that is no longer anyone's. Records never name them (walk.c
 * writes a stack of another interpreter as one placeholder frame), so
 * there is nothing to keep them for. A code object dies in its owner's
 * interpreter, so the thread state running its dealloc tells whose it is.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core_internal.h"

_Atomic uint64_t pyprof_seen[PYPROF_SEEN_BITS / 64];

/* All below: guarded by the GIL. */
static destructor g_code_dealloc;  /* CPython's own, once hooked */
static int g_parking;              /* park sampled code objects */
static PyObject **g_parked;
static uint32_t g_nparked, g_parked_cap;
static PyObject *g_releasing;      /* let this one through the hook */
static int g_hold;                 /* the memory sampler runs */
/* Parked objects the memory sampler's stacks name, kept while it runs. */
static PyObject **g_held;
static uint32_t g_nheld, g_held_cap;

static int
seen_test(const void *code)
{
    uint32_t h = pyprof_seen_hash(code);
    return (atomic_load_explicit(&pyprof_seen[h >> 6], memory_order_relaxed)
            >> (h & 63)) & 1;
}

/* Is the calling thread running the main interpreter? From 3.12 a
 * subinterpreter with its own GIL runs this hook alongside the main one,
 * so this must be asked before any state above is touched. */
static int
running_main_interp(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyThreadState *tstate = PyThreadState_GetUnchecked();
#else
    PyThreadState *tstate = _PyThreadState_UncheckedGet();
#endif
    return tstate &&
           PyThreadState_GetInterpreter(tstate) == PyInterpreterState_Main();
}

static void
code_dealloc_hook(PyObject *op)
{
    if (!running_main_interp()) {
        g_code_dealloc(op);
        return;
    }
    if (g_parking && op != g_releasing && seen_test(op)) {
        if (g_nparked == g_parked_cap) {
            uint32_t cap = g_parked_cap ? g_parked_cap * 2 : 256;
            PyObject **grown = realloc(g_parked, cap * sizeof(PyObject *));
            if (!grown) {
                /* Limitation: when the parking list cannot grow, the
                 * object is kept alive for good (leaked) rather than let
                 * a record name freed memory. */
                Py_SET_REFCNT(op, 1);
                return;
            }
            g_parked = grown;
            g_parked_cap = cap;
        }
        Py_SET_REFCNT(op, 1);
        g_parked[g_nparked++] = op;
        return;
    }
    g_code_dealloc(op);
}

int
pyprof_codes_enable(void)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    if (!g_code_dealloc) {
        g_code_dealloc = PyCode_Type.tp_dealloc;
        PyCode_Type.tp_dealloc = code_dealloc_hook;
    }
    if (!g_parking && g_nparked == 0)
        memset(pyprof_seen, 0, sizeof(pyprof_seen));
    g_parking = 1;
    PyGILState_Release(gil);
    return PYPROF_OK;
}

uint32_t
pyprof_codes_parked(void)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    uint32_t n = g_nparked;
    PyGILState_Release(gil);
    return n;
}

/* Let parked objects go: their last reference is the parking's. */
static void
release_batch(PyObject **batch, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        g_releasing = batch[i];
        Py_DECREF(batch[i]);
    }
    g_releasing = NULL;
}

/* Keep a parked object for as long as the memory sampler runs. */
static void
hold_one(PyObject *op)
{
    if (g_nheld == g_held_cap) {
        uint32_t cap = g_held_cap ? g_held_cap * 2 : 256;
        PyObject **grown = realloc(g_held, cap * sizeof(PyObject *));
        if (!grown)
            return;  /* kept alive for good (leaked), as when parking */
        g_held = grown;
        g_held_cap = cap;
    }
    g_held[g_nheld++] = op;
}

void
pyprof_codes_release(uint32_t n)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    /* Stopped and drained: no CPU record names a parked object any more. */
    if (pyprof_sampler_quiet()) {
        n = g_nparked;
        if (!g_hold)
            g_parking = 0;
    }
    if (n > g_nparked)
        n = g_nparked;
    if (n) {
        /* Detach first: freeing one object may park others (the code
         * objects in its co_consts), which appends to g_parked. */
        PyObject **batch = malloc(n * sizeof(PyObject *));
        uint8_t *named = g_hold ? calloc(n, 1) : NULL;
        if (batch && (named || !g_hold)) {
            memcpy(batch, g_parked, n * sizeof(PyObject *));
            memmove(g_parked, g_parked + n,
                    (g_nparked - n) * sizeof(PyObject *));
            g_nparked -= n;
            /* While the memory sampler runs, an object one of its stacks
             * names must stay until it stops; the others can go now (a
             * dead code object is on no stack, so no later sample can
             * name it). */
            if (named)
                pyprof_mem_named((void *const *)batch, n, named);
            uint32_t going = 0;
            for (uint32_t i = 0; i < n; i++) {
                if (named && named[i])
                    hold_one(batch[i]);
                else
                    batch[going++] = batch[i];
            }
            release_batch(batch, going);
        }
        free(batch);
        free(named);
    }
    if (!g_hold && g_nheld) {
        PyObject **batch = g_held;
        uint32_t count = g_nheld;
        g_held = NULL;
        g_nheld = g_held_cap = 0;
        release_batch(batch, count);
        free(batch);
    }
    if (!g_parking && g_nparked == 0) {
        free(g_parked);
        g_parked = NULL;
        g_parked_cap = 0;
    }
    PyGILState_Release(gil);
}

void
pyprof_codes_hold(int hold)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    if (hold && !g_hold) {
        if (!g_code_dealloc) {
            g_code_dealloc = PyCode_Type.tp_dealloc;
            PyCode_Type.tp_dealloc = code_dealloc_hook;
        }
        if (!g_parking && g_nparked == 0)
            memset(pyprof_seen, 0, sizeof(pyprof_seen));
        g_parking = 1;
    }
    g_hold = hold ? 1 : 0;
    PyGILState_Release(gil);
    if (!hold)
        pyprof_codes_release(0);  /* all of them, if the CPU side is quiet */
}

int
pyprof_codes_resolve(void *dict, void **codes, int32_t *instrs,
                     int32_t *lines, uint32_t n)
{
    int rc = PYPROF_OK;
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *d = dict;
    if (!PyDict_Check(d)) {
        rc = PYPROF_EINVAL;
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        PyObject *code = codes[i];
        PyObject *key = PyLong_FromVoidPtr(code);
        if (!key || PyDict_SetItem(d, key, code) < 0) {
            Py_XDECREF(key);
            PyErr_Clear();
            rc = PYPROF_ENOMEM;
            goto out;
        }
        Py_DECREF(key);
        lines[i] = PyCode_Addr2Line((PyCodeObject *)code, instrs[i] * 2);
    }
out:
    PyGILState_Release(gil);
    return rc;
}

/* ---- test entry point ------------------------------------------------- */

static void *
c_thread_main(void *source)
{
    PyGILState_STATE gil = PyGILState_Ensure();
    int rc = PyRun_SimpleString((const char *)source);
    PyGILState_Release(gil);
    return (void *)(intptr_t)rc;
}

int
pyprof_test_c_thread(const char *source)
{
    pthread_t thread;
    void *result;
    if (pthread_create(&thread, NULL, c_thread_main, (void *)source) != 0)
        return PYPROF_ENOMEM;
    pthread_join(thread, &result);
    return (int)(intptr_t)result;
}
