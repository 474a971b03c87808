/* Optional compiled rule evaluator for fraud_model.columnar: every rule of a policy over a batch of rows.
 *
 * fraud_model.rulecode translates a policy's rules (as fraud_model.columnar vectorises them) into a short
 * list of instructions over registers that each hold one block of rows, and this module runs it block by
 * block: one instruction is a tight loop over BLOCK rows, so a 20-rule policy over 1,000 rows costs a few
 * hundred such loops instead of a hundred numpy calls and their Python overhead.
 *
 * Operands of arithmetic and comparisons are numbers: a column (float64, NaN = absent; `type` and
 * `feature_set` as codes), a constant, or a number register. Truth values live in byte registers. Account
 * names are Python lists (None = absent) looked up in frozensets. `Program` checks every index once, when it
 * is built; `run` checks the shapes of what it is given, so no input can make it read out of bounds.
 * Only the CPython API and the buffer protocol are used (no numpy headers).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define BLOCK 128

/* The instruction set: four int32 each (op, dst, a, b). Keep in step with fraud_model/rulecode.py. */
enum {
    OP_ADD, OP_SUB, OP_MUL,                   /* dst number register = num a (op) num b */
    OP_NEG,                                   /* dst number register = -num a */
    OP_LT, OP_LE, OP_EQ, OP_NE, OP_GT, OP_GE, /* dst truth = num a (cmp) num b (IEEE: NaN compares false) */
    OP_TRUTH,                                 /* dst truth = num a != 0 */
    OP_CODE_IN,                               /* dst truth = code column a is one of the codes in mask b */
    OP_AND, OP_OR,                            /* dst truth = truth a (op) truth b */
    OP_NOT,                                   /* dst truth = !truth a */
    OP_PRESENT,                               /* dst truth = truth a and num column b is not NaN */
    OP_NAME_IN,                               /* dst truth = name column a is in set b */
    OP_NAME_EQ,                               /* dst truth = name column a == name column b */
    OP_NAME_PRESENT,                          /* dst truth = truth a and name column b is not None */
    OP_OUT,                                   /* rule b's row = truth a */
    OP_COUNT
};

typedef struct {
    PyObject_HEAD
    int32_t *code;        /* instructions * 4 */
    double *constants;    /* each repeated BLOCK times: a constant is read like a column */
    uint64_t *masks;      /* code sets of OP_CODE_IN */
    Py_ssize_t instructions, n_constants, n_masks;
    Py_ssize_t columns, names, sets, numbers, truths, rules; /* inputs and register counts */
} Program;

static void Program_dealloc(Program *self) {
    PyMem_Free(self->code);
    PyMem_Free(self->constants);
    PyMem_Free(self->masks);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Number operand space: [0, columns) columns, then constants, then number registers. */
static int check_instruction(const Program *p, const int32_t *ins) {
    const int32_t op = ins[0], dst = ins[1], a = ins[2], b = ins[3];
    const Py_ssize_t nums = p->columns + p->n_constants + p->numbers;
#define IN(x, n) ((x) >= 0 && (Py_ssize_t)(x) < (n))
    switch (op) {
    case OP_ADD: case OP_SUB: case OP_MUL:
        return IN(dst, p->numbers) && IN(a, nums) && IN(b, nums);
    case OP_NEG:
        return IN(dst, p->numbers) && IN(a, nums);
    case OP_LT: case OP_LE: case OP_EQ: case OP_NE: case OP_GT: case OP_GE:
        return IN(dst, p->truths) && IN(a, nums) && IN(b, nums);
    case OP_TRUTH:
        return IN(dst, p->truths) && IN(a, nums);
    case OP_CODE_IN:
        return IN(dst, p->truths) && IN(a, p->columns) && IN(b, p->n_masks);
    case OP_AND: case OP_OR:
        return IN(dst, p->truths) && IN(a, p->truths) && IN(b, p->truths);
    case OP_NOT:
        return IN(dst, p->truths) && IN(a, p->truths);
    case OP_PRESENT:
        return IN(dst, p->truths) && IN(a, p->truths) && IN(b, p->columns);
    case OP_NAME_IN:
        return IN(dst, p->truths) && IN(a, p->names) && IN(b, p->sets);
    case OP_NAME_EQ:
        return IN(dst, p->truths) && IN(a, p->names) && IN(b, p->names);
    case OP_NAME_PRESENT:
        return IN(dst, p->truths) && IN(a, p->truths) && IN(b, p->names);
    case OP_OUT:
        return IN(a, p->truths) && IN(b, p->rules);
    default:
        return 0;
    }
#undef IN
}

static int copy_buffer(PyObject *obj, Py_ssize_t itemsize, void **out, Py_ssize_t *count, const char *what) {
    Py_buffer view;
    if (PyObject_GetBuffer(obj, &view, PyBUF_C_CONTIGUOUS) < 0) return -1;
    if (view.len % itemsize != 0) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd-byte items", what, itemsize);
        PyBuffer_Release(&view);
        return -1;
    }
    *count = view.len / itemsize;
    *out = PyMem_Malloc(view.len > 0 ? view.len : 1);
    if (*out == NULL) {
        PyBuffer_Release(&view);
        PyErr_NoMemory();
        return -1;
    }
    memcpy(*out, view.buf, view.len);
    PyBuffer_Release(&view);
    return 0;
}

static int Program_init(Program *self, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {"code", "constants", "masks", "columns", "names", "sets", "numbers", "truths",
                             "rules", NULL};
    PyObject *code, *constants, *masks;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOnnnnnn", kwlist, &code, &constants, &masks,
                                     &self->columns, &self->names, &self->sets, &self->numbers,
                                     &self->truths, &self->rules))
        return -1;
    if (self->columns < 0 || self->names < 0 || self->sets < 0 || self->numbers < 0 || self->truths < 0 ||
        self->rules < 0) {
        PyErr_SetString(PyExc_ValueError, "counts must not be negative");
        return -1;
    }
    Py_ssize_t words, values;
    double *given;
    if (copy_buffer(code, 4, (void **)&self->code, &words, "code") < 0 ||
        copy_buffer(masks, 8, (void **)&self->masks, &self->n_masks, "masks") < 0 ||
        copy_buffer(constants, 8, (void **)&given, &values, "constants") < 0)
        return -1;
    if (words % 4 != 0) {
        PyMem_Free(given);
        PyErr_SetString(PyExc_ValueError, "code: four int32 per instruction");
        return -1;
    }
    self->instructions = words / 4;
    self->n_constants = values;
    self->constants = PyMem_Malloc(sizeof(double) * BLOCK * (values > 0 ? values : 1));
    if (self->constants == NULL) {
        PyMem_Free(given);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t c = 0; c < values; c++)
        for (int i = 0; i < BLOCK; i++) self->constants[c * BLOCK + i] = given[c];
    PyMem_Free(given);
    for (Py_ssize_t k = 0; k < self->instructions; k++)
        if (!check_instruction(self, self->code + 4 * k)) {
            PyErr_Format(PyExc_ValueError, "instruction %zd is out of range", k);
            return -1;
        }
    return 0;
}

/* One block of rows [start, start + n). Returns -1 with an exception set (a name lookup failed). */
static int run_block(const Program *p, const double **num, double *numbers, uint8_t *truths, PyObject **names,
                     PyObject **sets, Py_ssize_t start, int n, Py_ssize_t rows, uint8_t *out) {
    const double **starts = num + p->columns + p->n_constants + p->numbers; /* each column's first row */
    for (Py_ssize_t c = 0; c < p->columns; c++) num[c] = starts[c] + start;
    for (Py_ssize_t k = 0; k < p->instructions; k++) {
        const int32_t *ins = p->code + 4 * k;
        const int32_t op = ins[0], dst = ins[1], a = ins[2], b = ins[3];
        uint8_t *t = truths + (Py_ssize_t)dst * BLOCK;
        const uint8_t *ta = truths + (Py_ssize_t)a * BLOCK, *tb = truths + (Py_ssize_t)b * BLOCK;
        switch (op) {
#define ARITH(OP, EXPR)                                                                    \
    case OP: {                                                                             \
        double *d = numbers + (Py_ssize_t)dst * BLOCK;                                      \
        const double *x = num[a], *y = num[b];                                              \
        for (int i = 0; i < n; i++) d[i] = EXPR;                                           \
        break;                                                                             \
    }
            ARITH(OP_ADD, x[i] + y[i])
            ARITH(OP_SUB, x[i] - y[i])
            ARITH(OP_MUL, x[i] * y[i])
#undef ARITH
        case OP_NEG: {
            double *d = numbers + (Py_ssize_t)dst * BLOCK;
            const double *x = num[a];
            for (int i = 0; i < n; i++) d[i] = -x[i];
            break;
        }
#define COMPARE(OP, CMP)                                                                   \
    case OP: {                                                                             \
        const double *x = num[a], *y = num[b];                                              \
        for (int i = 0; i < n; i++) t[i] = x[i] CMP y[i];                                  \
        break;                                                                             \
    }
            COMPARE(OP_LT, <)
            COMPARE(OP_LE, <=)
            COMPARE(OP_EQ, ==)
            COMPARE(OP_NE, !=)
            COMPARE(OP_GT, >)
            COMPARE(OP_GE, >=)
#undef COMPARE
        case OP_TRUTH: {
            const double *x = num[a];
            for (int i = 0; i < n; i++) t[i] = x[i] != 0;
            break;
        }
        case OP_CODE_IN: {
            const double *x = num[a];
            const uint64_t mask = p->masks[b];
            for (int i = 0; i < n; i++) /* NaN (absent) and codes beyond the mask: false */
                t[i] = x[i] >= 0 && x[i] < 64 ? (uint8_t)((mask >> (int)x[i]) & 1) : 0;
            break;
        }
        case OP_AND:
            for (int i = 0; i < n; i++) t[i] = ta[i] & tb[i];
            break;
        case OP_OR:
            for (int i = 0; i < n; i++) t[i] = ta[i] | tb[i];
            break;
        case OP_NOT:
            for (int i = 0; i < n; i++) t[i] = !ta[i];
            break;
        case OP_PRESENT: {
            const double *x = num[b];
            for (int i = 0; i < n; i++) t[i] = ta[i] & !isnan(x[i]);
            break;
        }
        case OP_NAME_IN:
            for (int i = 0; i < n; i++) {
                const int found = PySet_Contains(sets[b], PyList_GET_ITEM(names[a], start + i));
                if (found < 0) return -1;
                t[i] = (uint8_t)found;
            }
            break;
        case OP_NAME_EQ:
            for (int i = 0; i < n; i++) {
                const int equal = PyObject_RichCompareBool(PyList_GET_ITEM(names[a], start + i),
                                                           PyList_GET_ITEM(names[b], start + i), Py_EQ);
                if (equal < 0) return -1;
                t[i] = (uint8_t)equal;
            }
            break;
        case OP_NAME_PRESENT:
            for (int i = 0; i < n; i++) t[i] = ta[i] & (PyList_GET_ITEM(names[b], start + i) != Py_None);
            break;
        case OP_OUT:
            memcpy(out + (Py_ssize_t)b * rows + start, ta, (size_t)n);
            break;
        }
    }
    return 0;
}

PyDoc_STRVAR(RUN_DOC,
             "run(columns, names, sets, out)\n\n"
             "Every rule over the rows: `columns` a tuple of float64 buffers of one length (rows), `names` a "
             "tuple of lists of that length, `sets` a tuple of sets or frozensets, `out` a writable (rules, "
             "rows) buffer of bytes that receives each rule's truth per row.");

static PyObject *Program_run(Program *self, PyObject *args) {
    PyObject *columns, *names, *sets, *out_obj;
    if (!PyArg_ParseTuple(args, "O!O!O!O", &PyTuple_Type, &columns, &PyTuple_Type, &names, &PyTuple_Type, &sets,
                          &out_obj))
        return NULL;
    if (PyTuple_GET_SIZE(columns) != self->columns || PyTuple_GET_SIZE(names) != self->names ||
        PyTuple_GET_SIZE(sets) != self->sets) {
        PyErr_SetString(PyExc_ValueError, "columns, names or sets: not the counts the program was built for");
        return NULL;
    }
    Py_buffer out;
    if (PyObject_GetBuffer(out_obj, &out, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) return NULL;
    const Py_ssize_t rows = self->rules > 0 ? out.len / self->rules : 0;
    PyObject *result = NULL;
    Py_buffer *views = PyMem_Calloc((size_t)self->columns + 1, sizeof(Py_buffer));
    /* operand pointers: columns (set per block), constants, number registers; then the columns' starts */
    const Py_ssize_t operands = self->columns + self->n_constants + self->numbers;
    const double **num = PyMem_Calloc((size_t)(operands + self->columns) + 1, sizeof(double *));
    double *numbers = PyMem_Malloc(sizeof(double) * BLOCK * (size_t)(self->numbers + 1));
    uint8_t *truths = PyMem_Malloc((size_t)BLOCK * (size_t)(self->truths + 1));
    Py_ssize_t acquired = 0;
    if (views == NULL || num == NULL || numbers == NULL || truths == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (self->rules > 0 && out.len != self->rules * rows) {
        PyErr_SetString(PyExc_ValueError, "out: expected (rules, rows) bytes");
        goto done;
    }
    for (; acquired < self->columns; acquired++) {
        if (PyObject_GetBuffer(PyTuple_GET_ITEM(columns, acquired), &views[acquired], PyBUF_C_CONTIGUOUS) < 0)
            goto done;
        if (views[acquired].len != rows * (Py_ssize_t)sizeof(double) || ((uintptr_t)views[acquired].buf) % 8) {
            acquired++;
            PyErr_SetString(PyExc_ValueError, "columns: expected aligned float64 buffers of `rows` values");
            goto done;
        }
        num[operands + acquired] = views[acquired].buf;
    }
    for (Py_ssize_t k = 0; k < self->names; k++) {
        PyObject *list = PyTuple_GET_ITEM(names, k);
        if (!PyList_Check(list) || PyList_GET_SIZE(list) != rows) {
            PyErr_SetString(PyExc_ValueError, "names: expected lists of `rows` values");
            goto done;
        }
    }
    for (Py_ssize_t k = 0; k < self->sets; k++)
        if (!PyAnySet_Check(PyTuple_GET_ITEM(sets, k))) {
            PyErr_SetString(PyExc_TypeError, "sets: expected set or frozenset");
            goto done;
        }
    for (Py_ssize_t c = 0; c < self->n_constants; c++) num[self->columns + c] = self->constants + c * BLOCK;
    for (Py_ssize_t r = 0; r < self->numbers; r++)
        num[self->columns + self->n_constants + r] = numbers + r * BLOCK;
    memset(numbers, 0, sizeof(double) * BLOCK * (size_t)(self->numbers + 1));
    memset(truths, 0, (size_t)BLOCK * (size_t)(self->truths + 1));
    for (Py_ssize_t start = 0; start < rows; start += BLOCK) {
        const int n = (int)(rows - start < BLOCK ? rows - start : BLOCK);
        if (run_block(self, num, numbers, truths, PySequence_Fast_ITEMS(names), PySequence_Fast_ITEMS(sets), start,
                      n, rows, out.buf) < 0)
            goto done;
    }
    result = Py_NewRef(Py_None);
done:
    for (Py_ssize_t k = 0; k < acquired; k++) PyBuffer_Release(&views[k]);
    PyMem_Free(views);
    PyMem_Free((void *)num);
    PyMem_Free(numbers);
    PyMem_Free(truths);
    PyBuffer_Release(&out);
    return result;
}

static PyMethodDef Program_methods[] = {
    {"run", (PyCFunction)Program_run, METH_VARARGS, RUN_DOC},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ProgramType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "fraud_model._rules.Program",
    .tp_basicsize = sizeof(Program),
    .tp_dealloc = (destructor)Program_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A policy's rules as instructions (see fraud_model/rulecode.py).",
    .tp_methods = Program_methods,
    .tp_init = (initproc)Program_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef rules_module = {
    PyModuleDef_HEAD_INIT, "fraud_model._rules", "Compiled rule evaluator for fraud_model.columnar.", -1,
    NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__rules(void) {
    if (PyType_Ready(&ProgramType) < 0) return NULL;
    PyObject *module = PyModule_Create(&rules_module);
    if (module == NULL) return NULL;
    Py_INCREF(&ProgramType);
    if (PyModule_AddObject(module, "Program", (PyObject *)&ProgramType) < 0 ||
        PyModule_AddIntConstant(module, "BLOCK", BLOCK) < 0) {
        Py_DECREF(&ProgramType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
