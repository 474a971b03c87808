/* Optional compiled walker for fraud_model.forest: sums the leaves a batch of rows reaches in every tree.
 *
 * Two layouts, both packed by fraud_model.forest and checked once by the constructor, so that no input
 * can make a walk read out of bounds:
 *   Trees          any depth, float32 or float64 rows. Node k holds a split, a feature and the id of its
 *                  first child; the two children sit side by side, so next = first + (x >= split).
 *                  Leaves have a NaN split (every comparison false) and point to themselves.
 *   CompleteTrees  depth <= 16, float32 rows. Each tree is stored complete, level by level, so the
 *                  children of i are 2i + 1 and 2i + 2: nodes are 8 bytes (float split, feature), no
 *                  child index is loaded, and every index stays in bounds by construction. Padding below
 *                  shallow leaves has a NaN split and leads to a copy of the leaf's value. The top levels
 *                  are walked with SIMD compares for groups of rows (8 lanes with AVX2, chosen at import,
 *                  else 4 lanes: SSE2 or NEON), the rest row by row.
 * Every tree is walked exactly its depth, without branches; rows with a NaN feature are walked again
 * with a branchy walk that honours each node's default direction. Rows go through the trees in blocks
 * (a tree's nodes stay in cache across a block); large batches are split over threads. Only the
 * CPython API and the buffer protocol are used (no numpy headers); the GIL is released while walking.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#define BLOCK 64        /* rows walked together through one tree */
#define MAX_DEPTH 64    /* Trees: far above the 24 that fraud_model.forest accepts */
#define MAX_COMPLETE 16 /* CompleteTrees: 2^16 nodes per tree at most */
#define MAX_THREADS 16

/* ---- buffers ------------------------------------------------------------------------------------ */

static int get_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t itemsize, const char *what) {
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS) < 0)
        return -1;
    if (view->len % itemsize != 0 || ((uintptr_t)view->buf) % (itemsize < 8 ? itemsize : 8) != 0) {
        PyErr_Format(PyExc_ValueError, "%s: expected an aligned buffer of %zd-byte items", what, itemsize);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static void release(Py_buffer *views, int count) {
    for (int i = 0; i < count; i++)
        if (views[i].obj) PyBuffer_Release(&views[i]);
}

static char format_char(const Py_buffer *view) {
    const char *fmt = view->format ? view->format : "B";
    while (*fmt == '<' || *fmt == '=' || *fmt == '@') fmt++;
    return fmt[1] == '\0' ? fmt[0] : '?';
}

/* ---- threads: the rows of one call, in chunks taken from a shared counter ------------------------------ */

typedef void (*Kernel)(const void *trees, const void *x, Py_ssize_t rows, double *out, double base);

typedef struct {
    Kernel kernel;
    const void *trees;
    const char *x;
    Py_ssize_t row_bytes, rows, chunk_rows;
    double *out;
    double base;
    Py_ssize_t next; /* next chunk to take (atomic) */
} Work;

static void *take_chunks(void *arg) {
    Work *w = (Work *)arg;
    const Py_ssize_t chunks = (w->rows + w->chunk_rows - 1) / w->chunk_rows;
    for (;;) {
        const Py_ssize_t i = __atomic_fetch_add(&w->next, 1, __ATOMIC_RELAXED);
        if (i >= chunks) return NULL;
        const Py_ssize_t first = i * w->chunk_rows;
        const Py_ssize_t count = first + w->chunk_rows < w->rows ? w->chunk_rows : w->rows - first;
        w->kernel(w->trees, w->x + first * w->row_bytes, count, w->out + first, w->base);
    }
}

/* Helpers take chunks alongside the calling thread; when no core is free for them, the caller ends up
 * doing every chunk itself, so a busy machine costs little more than one thread would. */
static void run_chunks(Kernel kernel, const void *trees, const char *x, Py_ssize_t row_bytes, Py_ssize_t rows,
                       double *out, double base, int threads) {
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads < 2 || rows < 2 * BLOCK) {
        kernel(trees, x, rows, out, base);
        return;
    }
    Work work = {kernel, trees, x, row_bytes, rows, 2 * BLOCK, out, base, 0};
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int i = 1; i < threads; i++) started[i] = pthread_create(&ids[i], NULL, take_chunks, &work) == 0;
    take_chunks(&work);
    for (int i = 1; i < threads; i++)
        if (started[i]) pthread_join(ids[i], NULL);
}

/* Parses margin(x, out, base_margin, threads=1) and runs `pick(self, is_f32)` over the rows. */
static PyObject *margin_call(PyObject *self, PyObject *args, PyObject *kwds, Py_ssize_t n_features, int f64_ok,
                             Kernel (*pick)(PyObject *, int)) {
    static char *kwlist[] = {"x", "out", "base_margin", "threads", NULL};
    PyObject *x_obj, *out_obj;
    double base;
    int threads = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOd|i", kwlist, &x_obj, &out_obj, &base, &threads)) return NULL;
    Py_buffer views[2] = {{0}};
    if (PyObject_GetBuffer(x_obj, &views[0], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_ND) < 0) return NULL;
    if (PyObject_GetBuffer(out_obj, &views[1], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_ND | PyBUF_WRITABLE) < 0) {
        release(views, 1);
        return NULL;
    }
    const Py_buffer *x = &views[0], *out = &views[1];
    const char xf = format_char(x);
    const int is_f32 = xf == 'f' && x->itemsize == 4, is_f64 = xf == 'd' && x->itemsize == 8;
    int ok = x->ndim == 2 && x->shape[1] == n_features && (is_f32 || (f64_ok && is_f64));
    ok = ok && out->ndim == 1 && out->shape[0] == x->shape[0] && format_char(out) == 'd' && out->itemsize == 8;
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "expected x: %s (rows, %zd) and out: float64 (rows,)",
                     f64_ok ? "float32 or float64" : "float32", n_features);
        release(views, 2);
        return NULL;
    }
    const Kernel kernel = pick(self, is_f32);
    const Py_ssize_t rows = x->shape[0];
    Py_BEGIN_ALLOW_THREADS
    run_chunks(kernel, self, (const char *)x->buf, n_features * x->itemsize, rows, (double *)out->buf, base, threads);
    Py_END_ALLOW_THREADS
    release(views, 2);
    Py_RETURN_NONE;
}

static int any_nan_rows(const void *xv, int is_f32, Py_ssize_t nf, int n, unsigned char *nan_row, double *acc) {
    int any = 0;
    for (int r = 0; r < n; r++) {
        unsigned char has = 0;
        if (is_f32)
            for (Py_ssize_t f = 0; f < nf; f++) has |= (unsigned char)isnan(((const float *)xv)[r * nf + f]);
        else
            for (Py_ssize_t f = 0; f < nf; f++) has |= (unsigned char)isnan(((const double *)xv)[r * nf + f]);
        nan_row[r] = has;
        any |= has;
        acc[r] = 0.0;
    }
    return any;
}

/* ---- Trees: side-by-side children, any depth ------------------------------------------------------- */

typedef struct {
    double split;    /* inner node: go to first + 1 when x >= split; leaf: NaN */
    int32_t feature; /* inner node: feature index; leaf: 0 */
    int32_t first;   /* inner node: left child, right child is first + 1; leaf: itself */
} Node;

typedef struct {
    PyObject_HEAD
    Py_buffer views[4];
    const Node *nodes;
    const double *values;         /* leaf values by node id (0 on inner nodes) */
    const uint8_t *default_right; /* 1 when a missing (NaN) value goes to first + 1 */
    const int32_t *depth;         /* depth of each tree; tree t's root is node t */
    Py_ssize_t n_nodes, n_trees, n_features;
} Trees;

static void Trees_dealloc(Trees *self) {
    release(self->views, 4);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Trees_init(Trees *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"nodes", "values", "default_right", "depth", "n_features", NULL};
    PyObject *obj[4];
    Py_ssize_t nf;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOn", kwlist, &obj[0], &obj[1], &obj[2], &obj[3], &nf))
        return -1;
    release(self->views, 4);
    memset(self->views, 0, sizeof(self->views));
    self->nodes = NULL;
    const Py_ssize_t sizes[4] = {sizeof(Node), sizeof(double), 1, sizeof(int32_t)};
    const char *names[4] = {"nodes", "values", "default_right", "depth"};
    for (int i = 0; i < 4; i++)
        if (get_buffer(obj[i], &self->views[i], sizes[i], names[i]) < 0) goto fail;
    const Py_ssize_t n = self->views[0].len / (Py_ssize_t)sizeof(Node);
    self->n_trees = self->views[3].len / (Py_ssize_t)sizeof(int32_t);
    self->n_nodes = n;
    self->n_features = nf;
    if (self->views[1].len / (Py_ssize_t)sizeof(double) != n || self->views[2].len != n || nf < 1 ||
        self->n_trees > n) {
        PyErr_SetString(PyExc_ValueError, "need one value and default per node, n_features >= 1, trees <= nodes");
        goto fail;
    }
    const Node *nodes = (const Node *)self->views[0].buf;
    const uint8_t *right = (const uint8_t *)self->views[2].buf;
    const int32_t *depth = (const int32_t *)self->views[3].buf;
    for (Py_ssize_t k = 0; k < n; k++) {
        if (nodes[k].feature < 0 || nodes[k].feature >= nf || nodes[k].first < 0 || nodes[k].first + 1 >= n ||
            right[k] > 1) {
            PyErr_Format(PyExc_ValueError, "node %zd: feature, child or default out of range", k);
            goto fail;
        }
    }
    for (Py_ssize_t t = 0; t < self->n_trees; t++) {
        if (depth[t] < 0 || depth[t] > MAX_DEPTH) {
            PyErr_Format(PyExc_ValueError, "tree %zd: depth %d out of range", t, (int)depth[t]);
            goto fail;
        }
    }
    self->nodes = nodes;
    self->values = (const double *)self->views[1].buf;
    self->default_right = right;
    self->depth = depth;
    return 0;
fail:
    release(self->views, 4);
    memset(self->views, 0, sizeof(self->views));
    return -1;
}

#define DEFINE_TREES_KERNEL(NAME, T, IS_F32)                                                          \
    static void NAME(const void *trees, const void *xv, Py_ssize_t rows, double *out, double base) {  \
        const Trees *tr = (const Trees *)trees;                                                       \
        const Node *nodes = tr->nodes;                                                                \
        const Py_ssize_t nf = tr->n_features;                                                         \
        int32_t idx[BLOCK];                                                                           \
        double acc[BLOCK];                                                                            \
        unsigned char nan_row[BLOCK];                                                                 \
        for (Py_ssize_t r0 = 0; r0 < rows; r0 += BLOCK) {                                             \
            const int n = (int)(rows - r0 < BLOCK ? rows - r0 : BLOCK);                               \
            const T *xb = (const T *)xv + r0 * nf;                                                    \
            const int any_nan = any_nan_rows(xb, IS_F32, nf, n, nan_row, acc);                        \
            for (Py_ssize_t t = 0; t < tr->n_trees; t++) {                                            \
                const int depth = tr->depth[t];                                                       \
                for (int r = 0; r < n; r++) idx[r] = (int32_t)t;                                      \
                for (int d = 0; d < depth; d++) {                                                     \
                    for (int r = 0; r < n; r++) {                                                     \
                        const Node *node = &nodes[idx[r]];                                            \
                        idx[r] = node->first + (xb[r * nf + node->feature] >= node->split);          \
                    }                                                                                 \
                }                                                                                     \
                for (int r = 0; any_nan && r < n; r++) {                                              \
                    if (!nan_row[r]) continue;                                                        \
                    int32_t k = (int32_t)t;                                                           \
                    for (int d = 0; d < depth; d++) {                                                 \
                        const Node *node = &nodes[k];                                                 \
                        const double v = (double)xb[r * nf + node->feature];                          \
                        k = node->first + (isnan(v) ? tr->default_right[k] : v >= node->split);       \
                    }                                                                                 \
                    idx[r] = k;                                                                       \
                }                                                                                     \
                for (int r = 0; r < n; r++) acc[r] += tr->values[idx[r]];                             \
            }                                                                                         \
            for (int r = 0; r < n; r++) out[r0 + r] = acc[r] + base;                                  \
        }                                                                                             \
    }

DEFINE_TREES_KERNEL(trees_f32, float, 1)
DEFINE_TREES_KERNEL(trees_f64, double, 0)

static Kernel pick_trees(PyObject *self, int is_f32) {
    (void)self;
    return is_f32 ? trees_f32 : trees_f64;
}

static PyObject *Trees_margin(Trees *self, PyObject *args, PyObject *kwds) {
    if (self->nodes == NULL) {
        PyErr_SetString(PyExc_ValueError, "Trees is not initialised");
        return NULL;
    }
    return margin_call((PyObject *)self, args, kwds, self->n_features, 1, pick_trees);
}

/* ---- CompleteTrees: level-order complete trees, float32 ------------------------------------------- */

typedef struct {
    float split;     /* go to 2i + 2 when x >= split, else 2i + 1; padding: NaN */
    int32_t feature;
} SmallNode;

typedef struct {
    PyObject_HEAD
    Py_buffer views[6];
    const SmallNode *nodes;       /* tree t: 2^depth - 1 inner nodes from node_start[t] */
    const uint8_t *default_right; /* one per node */
    const double *leaves;         /* tree t: 2^depth leaf values from leaf_start[t] */
    const int64_t *node_start, *leaf_start;
    const int32_t *depth;
    Py_ssize_t n_trees, n_features;
} CompleteTrees;

static void CompleteTrees_dealloc(CompleteTrees *self) {
    release(self->views, 6);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int CompleteTrees_init(CompleteTrees *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"nodes", "default_right", "leaves", "node_start", "leaf_start", "depth", "n_features",
                             NULL};
    PyObject *obj[6];
    Py_ssize_t nf;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOOOOn", kwlist, &obj[0], &obj[1], &obj[2], &obj[3], &obj[4],
                                     &obj[5], &nf))
        return -1;
    release(self->views, 6);
    memset(self->views, 0, sizeof(self->views));
    self->nodes = NULL;
    const Py_ssize_t sizes[6] = {sizeof(SmallNode), 1, sizeof(double), sizeof(int64_t), sizeof(int64_t),
                                 sizeof(int32_t)};
    const char *names[6] = {"nodes", "default_right", "leaves", "node_start", "leaf_start", "depth"};
    for (int i = 0; i < 6; i++)
        if (get_buffer(obj[i], &self->views[i], sizes[i], names[i]) < 0) goto fail;
    const Py_ssize_t n_nodes = self->views[0].len / (Py_ssize_t)sizeof(SmallNode);
    const Py_ssize_t n_leaves = self->views[2].len / (Py_ssize_t)sizeof(double);
    const Py_ssize_t n_trees = self->views[5].len / (Py_ssize_t)sizeof(int32_t);
    const SmallNode *nodes = (const SmallNode *)self->views[0].buf;
    const uint8_t *right = (const uint8_t *)self->views[1].buf;
    const int64_t *node_start = (const int64_t *)self->views[3].buf, *leaf_start = (const int64_t *)self->views[4].buf;
    const int32_t *depth = (const int32_t *)self->views[5].buf;
    if (self->views[1].len != n_nodes || self->views[3].len / 8 != n_trees || self->views[4].len / 8 != n_trees ||
        nf < 1) {
        PyErr_SetString(PyExc_ValueError, "need one default per node, one start per tree, n_features >= 1");
        goto fail;
    }
    for (Py_ssize_t k = 0; k < n_nodes; k++) {
        if (nodes[k].feature < 0 || nodes[k].feature >= nf || right[k] > 1) {
            PyErr_Format(PyExc_ValueError, "node %zd: feature or default out of range", k);
            goto fail;
        }
    }
    for (Py_ssize_t t = 0; t < n_trees; t++) {
        const int d = depth[t];
        if (d < 0 || d > MAX_COMPLETE || node_start[t] < 0 || node_start[t] + ((1LL << d) - 1) > n_nodes ||
            leaf_start[t] < 0 || leaf_start[t] + (1LL << d) > n_leaves) {
            PyErr_Format(PyExc_ValueError, "tree %zd: depth or start out of range", t);
            goto fail;
        }
    }
    self->nodes = nodes;
    self->default_right = right;
    self->leaves = (const double *)self->views[2].buf;
    self->node_start = node_start;
    self->leaf_start = leaf_start;
    self->depth = depth;
    self->n_trees = n_trees;
    self->n_features = nf;
    return 0;
fail:
    release(self->views, 6);
    memset(self->views, 0, sizeof(self->views));
    return -1;
}

/* The top SIMD_LEVELS levels of a tree are walked for a group of rows at once: the rows are copied
 * feature-major, every candidate node of a level is compared against all of them (contiguous loads, no
 * gathers), and each row keeps the answer of the node it stands on; deeper levels walk row by row.
 * Two builds of the same body: 8 lanes with AVX2 where the CPU has it, else 4 lanes (SSE2, NEON). */
#define SIMD_LEVELS 5
#define VECTORS 8 /* vectors of rows walked together: 8 x 8 lanes = one block with AVX2 */
typedef float v4f __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

#define DEFINE_COMPLETE_KERNEL(NAME, TARGET, VF, VI, LANES)                                           \
    TARGET static void NAME(const void *trees, const void *xv, Py_ssize_t rows, double *out, double base) { \
        const CompleteTrees *tr = (const CompleteTrees *)trees;                                       \
        const Py_ssize_t nf = tr->n_features;                                                         \
        enum { GROUP = VECTORS * (LANES) };                                                           \
        uint32_t idx[BLOCK];                                                                          \
        double acc[BLOCK];                                                                            \
        unsigned char nan_row[BLOCK];                                                                 \
        float *buffer = PyMem_RawMalloc(sizeof(float) * (size_t)nf * BLOCK + 64);                     \
        float *cols = buffer ? (float *)(((uintptr_t)buffer + 63) & ~(uintptr_t)63) : NULL;           \
        for (Py_ssize_t r0 = 0; r0 < rows; r0 += BLOCK) {                                             \
            const int n = (int)(rows - r0 < BLOCK ? rows - r0 : BLOCK);                               \
            const int vector_rows = cols ? n / GROUP * GROUP : 0; /* the rest walk row by row */       \
            const float *xb = (const float *)xv + r0 * nf;                                            \
            const int any_nan = any_nan_rows(xb, 1, nf, n, nan_row, acc);                             \
            for (int r = 0; r < vector_rows; r++)                                                     \
                for (Py_ssize_t f = 0; f < nf; f++) cols[f * BLOCK + r] = xb[r * nf + f];             \
            for (Py_ssize_t t = 0; t < tr->n_trees; t++) {                                            \
                const int depth = tr->depth[t];                                                       \
                const int top = depth < SIMD_LEVELS ? depth : SIMD_LEVELS;                            \
                const SmallNode *nodes = tr->nodes + tr->node_start[t];                               \
                for (int g0 = 0; g0 < vector_rows; g0 += GROUP) {                                     \
                    VI pos[VECTORS] = {{0}};                                                          \
                    for (int level = 0; level < top; level++) {                                       \
                        VI right[VECTORS] = {{0}};                                                    \
                        const int first = (1 << level) - 1;                                           \
                        for (int c = first; c < 2 * first + 1; c++) {                                 \
                            const float *col = &cols[nodes[c].feature * BLOCK + g0];                  \
                            const float split = nodes[c].split;                                       \
                            for (int v = 0; v < VECTORS; v++)                                         \
                                right[v] |= (*(const VF *)&col[v * (LANES)] >= split) & (pos[v] == c); \
                        }                                                                             \
                        for (int v = 0; v < VECTORS; v++) pos[v] = 2 * pos[v] + 1 - right[v];         \
                    }                                                                                 \
                    for (int v = 0; v < VECTORS; v++)                                                 \
                        for (int l = 0; l < (LANES); l++) idx[g0 + v * (LANES) + l] = (uint32_t)pos[v][l]; \
                }                                                                                     \
                for (int r = vector_rows; r < n; r++) idx[r] = 0;                                     \
                for (int d = 0; d < depth; d++) {                                                     \
                    const int from = d < top ? vector_rows : 0; /* rows already this deep */          \
                    for (int r = from; r < n; r++) {                                                  \
                        const SmallNode node = nodes[idx[r]];                                         \
                        idx[r] = 2 * idx[r] + 1 + (xb[r * nf + node.feature] >= node.split);         \
                    }                                                                                 \
                }                                                                                     \
                for (int r = 0; any_nan && r < n; r++) {                                              \
                    if (!nan_row[r]) continue;                                                        \
                    const uint8_t *right = tr->default_right + tr->node_start[t];                     \
                    uint32_t k = 0;                                                                   \
                    for (int d = 0; d < depth; d++) {                                                 \
                        const float v = xb[r * nf + nodes[k].feature];                                \
                        k = 2 * k + 1 + (isnan(v) ? right[k] : v >= nodes[k].split);                  \
                    }                                                                                 \
                    idx[r] = k;                                                                       \
                }                                                                                     \
                const double *leaves = tr->leaves + tr->leaf_start[t] - ((1u << depth) - 1);          \
                for (int r = 0; r < n; r++) acc[r] += leaves[idx[r]];                                 \
            }                                                                                         \
            for (int r = 0; r < n; r++) out[r0 + r] = acc[r] + base;                                  \
        }                                                                                             \
        PyMem_RawFree(buffer);                                                                        \
    }

DEFINE_COMPLETE_KERNEL(complete_f32_x4, , v4f, v4i, 4)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_X8 1
DEFINE_COMPLETE_KERNEL(complete_f32_x8, __attribute__((target("avx2"))), v8f, v8i, 8)
#endif

static Kernel complete_kernel = complete_f32_x4; /* set once at import: see PyInit__forest */

static Kernel pick_complete(PyObject *self, int is_f32) {
    (void)self;
    (void)is_f32;
    return complete_kernel;
}

static PyObject *CompleteTrees_margin(CompleteTrees *self, PyObject *args, PyObject *kwds) {
    if (self->nodes == NULL) {
        PyErr_SetString(PyExc_ValueError, "CompleteTrees is not initialised");
        return NULL;
    }
    return margin_call((PyObject *)self, args, kwds, self->n_features, 0, pick_complete);
}

/* ---- module ------------------------------------------------------------------------------------------- */

#define MARGIN_DOC "margin(x, out, base_margin, threads=1): write each row's summed leaf values plus base_margin."

static PyMethodDef Trees_methods[] = {
    {"margin", (PyCFunction)(void (*)(void))Trees_margin, METH_VARARGS | METH_KEYWORDS, MARGIN_DOC},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef CompleteTrees_methods[] = {
    {"margin", (PyCFunction)(void (*)(void))CompleteTrees_margin, METH_VARARGS | METH_KEYWORDS, MARGIN_DOC},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TreesType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fraud_model._forest.Trees",
    .tp_basicsize = sizeof(Trees),
    .tp_dealloc = (destructor)Trees_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Trees(nodes, values, default_right, depth, n_features): side-by-side children, any depth.",
    .tp_methods = Trees_methods,
    .tp_init = (initproc)Trees_init,
    .tp_new = PyType_GenericNew,
};

static PyTypeObject CompleteTreesType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fraud_model._forest.CompleteTrees",
    .tp_basicsize = sizeof(CompleteTrees),
    .tp_dealloc = (destructor)CompleteTrees_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "CompleteTrees(nodes, default_right, leaves, node_start, leaf_start, depth, n_features): "
              "level-order complete trees, float32 rows.",
    .tp_methods = CompleteTrees_methods,
    .tp_init = (initproc)CompleteTrees_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef forest_module = {
    PyModuleDef_HEAD_INIT, "fraud_model._forest", "Compiled tree walker for fraud_model.forest.", -1,
    NULL, NULL, NULL, NULL, NULL,
};

static int add_type(PyObject *module, PyTypeObject *type, const char *name) {
    if (PyType_Ready(type) < 0) return -1;
    Py_INCREF(type);
    if (PyModule_AddObject(module, name, (PyObject *)type) < 0) {
        Py_DECREF(type);
        return -1;
    }
    return 0;
}

PyMODINIT_FUNC PyInit__forest(void) {
#ifdef HAVE_X8
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) complete_kernel = complete_f32_x8;
#endif
    PyObject *module = PyModule_Create(&forest_module);
    if (module == NULL) return NULL;
    if (add_type(module, &TreesType, "Trees") < 0 || add_type(module, &CompleteTreesType, "CompleteTrees") < 0 ||
        PyModule_AddIntConstant(module, "MAX_COMPLETE_DEPTH", MAX_COMPLETE) < 0 ||
        PyModule_AddIntConstant(module, "SIMD_LANES", complete_kernel == complete_f32_x4 ? 4 : 8) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
