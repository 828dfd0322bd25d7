/* graphagg.c - the edge weights of pprof's call graph, for pyprof.graph.
 *
 * Walks every sample's stack from the root, one entry (graph node, and
 * whether the call into it is inlined) at a time, and counts each
 * (caller, callee) pair of adjacent, different nodes once per sample:
 * its weight grows by the sample's value, and its inline flag stays set
 * only while every counted call is inlined. Pure computation on plain
 * arrays: no Python, no globals, so any thread may call it.
 *
 * Edges are kept in the order they are first met (pyprof.graph keeps
 * that order), found through an open-addressing hash table.
 */
#include <stdlib.h>
#include <string.h>

#include "pyprof_core.h"

struct pyprof_edges {
    uint32_t count;
    uint32_t capacity;     /* of the arrays below */
    int32_t *caller;
    int32_t *callee;
    int64_t *weight;
    uint8_t *inline_all;
    uint32_t *stamp;       /* last sample (1-based) that counted the edge */
    uint32_t *slots;       /* hash table: edge index + 1, 0 when empty */
    uint32_t nslots;       /* power of two, more than twice count */
};

static uint32_t edge_hash(int32_t caller, int32_t callee) {
    uint64_t key = ((uint64_t)(uint32_t)caller << 32) | (uint32_t)callee;
    key *= 0x9E3779B97F4A7C15ULL;
    return (uint32_t)(key >> 32);
}

static int grow_slots(pyprof_edges *e) {
    uint32_t nslots = e->nslots ? e->nslots * 2 : 1024;
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (slots == NULL) return PYPROF_ENOMEM;
    for (uint32_t i = 0; i < e->count; i++) {
        uint32_t h = edge_hash(e->caller[i], e->callee[i]) & (nslots - 1);
        while (slots[h] != 0) h = (h + 1) & (nslots - 1);
        slots[h] = i + 1;
    }
    free(e->slots);
    e->slots = slots;
    e->nslots = nslots;
    return PYPROF_OK;
}

static int grow_arrays(pyprof_edges *e) {
    uint32_t capacity = e->capacity ? e->capacity * 2 : 1024;
    int32_t *caller = realloc(e->caller, capacity * sizeof *caller);
    if (caller == NULL) return PYPROF_ENOMEM;
    e->caller = caller;
    int32_t *callee = realloc(e->callee, capacity * sizeof *callee);
    if (callee == NULL) return PYPROF_ENOMEM;
    e->callee = callee;
    int64_t *weight = realloc(e->weight, capacity * sizeof *weight);
    if (weight == NULL) return PYPROF_ENOMEM;
    e->weight = weight;
    uint8_t *inline_all = realloc(e->inline_all, capacity * sizeof *inline_all);
    if (inline_all == NULL) return PYPROF_ENOMEM;
    e->inline_all = inline_all;
    uint32_t *stamp = realloc(e->stamp, capacity * sizeof *stamp);
    if (stamp == NULL) return PYPROF_ENOMEM;
    e->stamp = stamp;
    e->capacity = capacity;
    return PYPROF_OK;
}

/* Count one call from caller to callee for sample `stamp`. */
static int count_edge(pyprof_edges *e, int32_t caller, int32_t callee,
                      int inlined, uint64_t w, uint32_t stamp) {
    uint32_t mask = e->nslots - 1;
    uint32_t h = edge_hash(caller, callee) & mask;
    for (;;) {
        uint32_t slot = e->slots[h];
        if (slot == 0) break;
        uint32_t i = slot - 1;
        if (e->caller[i] == caller && e->callee[i] == callee) {
            if (e->stamp[i] != stamp) {
                e->stamp[i] = stamp;
                /* Unsigned sums wrap as Go's int64 arithmetic does. */
                e->weight[i] = (int64_t)((uint64_t)e->weight[i] + w);
                if (!inlined) e->inline_all[i] = 0;
            }
            return PYPROF_OK;
        }
        h = (h + 1) & mask;
    }
    if (e->count == UINT32_MAX - 1) return PYPROF_EFULL;
    if (e->count == e->capacity && grow_arrays(e) != PYPROF_OK) return PYPROF_ENOMEM;
    uint32_t i = e->count++;
    e->caller[i] = caller;
    e->callee[i] = callee;
    e->weight[i] = (int64_t)w;
    e->inline_all[i] = inlined ? 1 : 0;
    e->stamp[i] = stamp;
    e->slots[h] = i + 1;
    if ((uint64_t)e->count * 2 >= e->nslots) return grow_slots(e);
    return PYPROF_OK;
}

void pyprof_edges_free(pyprof_edges *e) {
    if (e == NULL) return;
    free(e->caller);
    free(e->callee);
    free(e->weight);
    free(e->inline_all);
    free(e->stamp);
    free(e->slots);
    free(e);
}

int pyprof_edges_build(uint32_t nlocs, const uint32_t *loc_start,
                       const int32_t *entry_node, const uint8_t *entry_inline,
                       uint32_t nnodes, uint32_t nsamples,
                       const uint64_t *sample_start, const uint32_t *sample_locs,
                       const int64_t *weights, pyprof_edges **out) {
    *out = NULL;
    if (nsamples == UINT32_MAX) return PYPROF_EINVAL;
    for (uint32_t l = 0; l < nlocs; l++) {
        if (loc_start[l] > loc_start[l + 1]) return PYPROF_EINVAL;
        for (uint32_t k = loc_start[l]; k < loc_start[l + 1]; k++) {
            if (entry_node[k] < 0 || (uint32_t)entry_node[k] >= nnodes) return PYPROF_EINVAL;
        }
    }
    pyprof_edges *e = calloc(1, sizeof *e);
    if (e == NULL) return PYPROF_ENOMEM;
    int rc = grow_slots(e);
    for (uint32_t s = 0; rc == PYPROF_OK && s < nsamples; s++) {
        uint64_t first = sample_start[s], end = sample_start[s + 1];
        uint64_t w = (uint64_t)weights[s];
        int32_t parent = -1;
        if (first > end) {
            rc = PYPROF_EINVAL;
            break;
        }
        /* Locations are stored leaf first: walk them backwards, root first. */
        for (uint64_t j = end; j > first && rc == PYPROF_OK; j--) {
            uint32_t loc = sample_locs[j - 1];
            if (loc >= nlocs) {
                rc = PYPROF_EINVAL;
                break;
            }
            for (uint32_t k = loc_start[loc]; k < loc_start[loc + 1]; k++) {
                int32_t node = entry_node[k];
                if (parent >= 0 && node != parent) {
                    rc = count_edge(e, parent, node, entry_inline[k], w, s + 1);
                    if (rc != PYPROF_OK) break;
                }
                parent = node;
            }
        }
    }
    if (rc != PYPROF_OK) {
        pyprof_edges_free(e);
        return rc;
    }
    *out = e;
    return (int)(e->count > 0x7FFFFFFF ? 0x7FFFFFFF : e->count);
}

uint32_t pyprof_edges_count(const pyprof_edges *e) {
    return e->count;
}

void pyprof_edges_copy(const pyprof_edges *e, int32_t *caller, int32_t *callee,
                       int64_t *weight, uint8_t *inline_all) {
    memcpy(caller, e->caller, e->count * sizeof *caller);
    memcpy(callee, e->callee, e->count * sizeof *callee);
    memcpy(weight, e->weight, e->count * sizeof *weight);
    memcpy(inline_all, e->inline_all, e->count * sizeof *inline_all);
}

/* Node values: each sample adds its weight to the flat value of the
 * innermost node of its leaf location, and to the cum value of every node
 * on its stack once, however often recursion repeats it (a per-node stamp
 * of the last sample that counted it). Location ids go through id_index
 * to 0..nlocs-1. */
int pyprof_node_values(uint32_t nlocs, const uint32_t *loc_start,
                       const int32_t *entry_node, uint32_t nnodes,
                       uint64_t nids, const int64_t *id_index,
                       uint32_t nsamples, const uint64_t *sample_start,
                       const uint64_t *sample_ids, const int64_t *weights,
                       const int64_t *divisors, int64_t *flat, int64_t *cum,
                       int64_t *flat_div, int64_t *cum_div) {
    uint32_t *stamp = calloc(nnodes ? nnodes : 1, sizeof *stamp);
    if (stamp == NULL) return PYPROF_ENOMEM;
    int rc = PYPROF_OK;
    for (uint32_t s = 0; s < nsamples && rc == PYPROF_OK; s++) {
        uint64_t first = sample_start[s], end = sample_start[s + 1];
        int64_t w = weights[s], d = divisors ? divisors[s] : 0;
        for (uint64_t k = first; k < end; k++) {
            uint64_t id = sample_ids[k];
            int64_t loc = id < nids ? id_index[id] : -1;
            if (loc < 0 || (uint64_t)loc >= nlocs) { rc = PYPROF_EINVAL; break; }
            for (uint32_t e = loc_start[loc]; e < loc_start[loc + 1]; e++) {
                int32_t node = entry_node[e];
                if (node < 0 || (uint32_t)node >= nnodes) { rc = PYPROF_EINVAL; break; }
                if (k == first && e == loc_start[loc]) {
                    flat[node] += w;
                    flat_div[node] += d;
                }
                if (stamp[node] != s + 1) {
                    stamp[node] = s + 1;
                    cum[node] += w;
                    cum_div[node] += d;
                }
            }
        }
    }
    free(stamp);
    return rc;
}
