/*
 * consent._speedups: the two per-cookie loops of the middleware, in C.
 *
 * consent/scan.py is the specification: each function here does exactly what its
 * namesake there does (tests/test_scan.py compares them on generated input), and the
 * middleware uses the Python one when this module is not built. Why it exists at all
 * (docs/performance.md): in the interpreter every cookie costs a partition's tuple and
 * two bytes objects, a hash of the fresh name and some twenty bytecodes; here it costs
 * one bytes object for the name and one dictionary probe.
 *
 * What the code may trust: nothing about the bytes. A Cookie header is chosen by the
 * client and a Set-Cookie by the app; both are only ever read between their start and
 * their length, byte by byte or with memchr, and nothing is written anywhere but into
 * new Python objects. No name or value is parsed further than finding ';' and '='.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* What Python's str.strip() removes from a latin-1 decoded header (cookies.WHITESPACE). */
static unsigned char whitespace[256];

static void
init_whitespace(void)
{
    static const unsigned char chars[] = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0";
    for (size_t i = 0; i + 1 < sizeof(chars); i++) {
        whitespace[chars[i]] = 1;
    }
}

/* The bit of a cookie name: the cache's int, or what ``learn`` says on a miss. */
static int
bit_of(PyObject *bits, PyObject *learn, PyObject *name, unsigned long long *bit)
{
    PyObject *found = PyDict_GetItemWithError(bits, name); /* borrowed */
    PyObject *learnt = NULL;
    if (found == NULL) {
        if (PyErr_Occurred()) {
            return -1;
        }
        found = learnt = PyObject_CallOneArg(learn, name);
        if (learnt == NULL) {
            return -1;
        }
    }
    *bit = PyLong_AsUnsignedLongLong(found);
    Py_XDECREF(learnt);
    if (*bit == (unsigned long long)-1 && PyErr_Occurred()) {
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(scan_cookies_doc,
"scan_cookies(header, bits, learn, own, nameless, truncated, limit)\n"
"--\n\n"
"The union of the verdict bits of a request Cookie header's pieces and the value of\n"
"the first cookie whose bit is ``own``: consent.scan.scan_cookies, in C.");

static PyObject *
scan_cookies(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_Format(PyExc_TypeError, "scan_cookies() takes 7 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *header = args[0], *bits = args[1], *learn = args[2];
    if (!PyBytes_Check(header) || !PyDict_Check(bits)) {
        PyErr_SetString(PyExc_TypeError, "scan_cookies() needs bytes and a dict");
        return NULL;
    }
    unsigned long long own = PyLong_AsUnsignedLongLong(args[3]);
    unsigned long long nameless = PyLong_AsUnsignedLongLong(args[4]);
    unsigned long long truncated = PyLong_AsUnsignedLongLong(args[5]);
    Py_ssize_t limit = PyLong_AsSsize_t(args[6]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    const char *start = PyBytes_AS_STRING(header);
    const char *end = start + PyBytes_GET_SIZE(header);
    const char *piece = start;
    unsigned long long present = 0;
    PyObject *raw = NULL; /* the first value of our cookie, stripped */
    for (Py_ssize_t count = 0;; count++) {
        if (count == limit) {
            /* header.split(b";", limit) left a rest: dropped, and the header is cut. */
            present |= truncated;
            break;
        }
        const char *stop = memchr(piece, ';', (size_t)(end - piece));
        const char *piece_end = stop ? stop : end;
        const char *equals = memchr(piece, '=', (size_t)(piece_end - piece));
        if (equals == NULL) {
            /* A pair without '=' is nameless; a blank piece is no cookie at all. */
            for (const char *p = piece; p < piece_end; p++) {
                if (!whitespace[(unsigned char)*p]) {
                    present |= nameless;
                    break;
                }
            }
        }
        else {
            PyObject *name = PyBytes_FromStringAndSize(piece, equals - piece);
            unsigned long long bit;
            if (name == NULL || bit_of(bits, learn, name, &bit) < 0) {
                Py_XDECREF(name);
                Py_XDECREF(raw);
                return NULL;
            }
            Py_DECREF(name);
            if (raw == NULL && bit == own) {
                const char *first = equals + 1, *last = piece_end;
                while (first < last && whitespace[(unsigned char)*first]) {
                    first++;
                }
                while (last > first && whitespace[(unsigned char)last[-1]]) {
                    last--;
                }
                raw = PyBytes_FromStringAndSize(first, last - first);
                if (raw == NULL) {
                    return NULL;
                }
            }
            present |= bit;
        }
        if (stop == NULL) {
            break;
        }
        piece = stop + 1;
    }
    PyObject *mask = PyLong_FromUnsignedLongLong(present);
    if (mask == NULL) {
        Py_XDECREF(raw);
        return NULL;
    }
    PyObject *result = PyTuple_Pack(2, mask, raw ? raw : Py_None);
    Py_DECREF(mask);
    Py_XDECREF(raw);
    return result;
}

/* Whether ``size`` bytes at ``text`` spell ``lower`` (given in lower case) in any ASCII case. */
static int
spells(const char *text, Py_ssize_t size, const char *lower, Py_ssize_t expected)
{
    if (size != expected) {
        return 0;
    }
    if (memcmp(text, lower, (size_t)size) == 0) {
        return 1; /* lower case, as ASGI asks: the usual answer, without a loop */
    }
    for (Py_ssize_t i = 0; i < size; i++) {
        if (Py_TOLOWER((unsigned char)text[i]) != (unsigned char)lower[i]) {
            return 0;
        }
    }
    return 1;
}

/* A header name's bytes. ASGI says bytes; any other bytes-like name (a bytearray, a
   memoryview) is read through the buffer protocol all the same, so that a Set-Cookie
   under such a name is filtered rather than let through. 0 for a name of another
   type (a str: never equal to bytes in Python either), -1 on error. */
typedef struct {
    const char *text;
    Py_ssize_t size;
    Py_buffer view;
    int viewed;
} name_bytes;

static int
read_name(PyObject *key, name_bytes *name)
{
    name->viewed = 0;
    if (PyBytes_Check(key)) {
        name->text = PyBytes_AS_STRING(key);
        name->size = PyBytes_GET_SIZE(key);
        return 1;
    }
    if (!PyObject_CheckBuffer(key)) {
        return 0;
    }
    if (PyObject_GetBuffer(key, &name->view, PyBUF_SIMPLE) < 0) {
        return -1;
    }
    name->viewed = 1;
    name->text = name->view.buf;
    name->size = name->view.len;
    return 1;
}

/* A header pair's name and value, as new references: from a tuple or a list (what
   servers send), or from any other pair as Python's ``key, value = header`` takes it. */
static int
pair_items(PyObject *header, PyObject **key, PyObject **value)
{
    PyObject *pair;
    if (PyTuple_CheckExact(header) || PyList_CheckExact(header)) {
        pair = Py_NewRef(header);
    }
    else if ((pair = PySequence_Tuple(header)) == NULL) {
        return -1;
    }
    if (PySequence_Fast_GET_SIZE(pair) != 2) {
        Py_DECREF(pair);
        PyErr_SetString(PyExc_ValueError, "a header must be a (name, value) pair");
        return -1;
    }
    *key = Py_NewRef(PySequence_Fast_GET_ITEM(pair, 0));
    *value = Py_NewRef(PySequence_Fast_GET_ITEM(pair, 1));
    Py_DECREF(pair);
    return 0;
}

/* Whether a Set-Cookie may leave: its cached keep, or what ``learn`` says on a miss. */
static int
keeps_set_cookie(PyObject *keeps, PyObject *learn, PyObject *allowed, PyObject *value,
                 int nameless_keep)
{
    if (!PyBytes_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "a Set-Cookie value must be bytes");
        return -1;
    }
    const char *text = PyBytes_AS_STRING(value);
    const char *equals = memchr(text, '=', (size_t)PyBytes_GET_SIZE(value));
    if (equals == NULL) {
        return nameless_keep; /* no '=' at all: a nameless cookie */
    }
    PyObject *name = PyBytes_FromStringAndSize(text, equals - text);
    if (name == NULL) {
        return -1;
    }
    PyObject *keep = PyDict_GetItemWithError(keeps, name); /* borrowed */
    Py_DECREF(name);
    if (keep != NULL) {
        return keep == Py_True ? 1 : PyObject_IsTrue(keep);
    }
    if (PyErr_Occurred()) {
        return -1;
    }
    PyObject *call[3] = {keeps, value, allowed};
    PyObject *learnt = PyObject_Vectorcall(learn, call, 3, NULL);
    if (learnt == NULL) {
        return -1;
    }
    int result = PyObject_IsTrue(learnt);
    Py_DECREF(learnt);
    return result;
}

/* One response header: appended to ``result`` unless a Set-Cookie not allowed. */
static int
filter_one(PyObject *result, PyObject *header, PyObject *key, PyObject *value,
           PyObject *keeps, PyObject *learn, PyObject *allowed, int nameless_keep, int csp,
           Py_ssize_t *vary_index, PyObject **content_type, PyObject **policies, int *seen)
{
    name_bytes name;
    int readable = read_name(key, &name);
    if (readable < 0) {
        return -1;
    }
    int set_cookie = readable && spells(name.text, name.size, "set-cookie", 10);
    int vary = 0, type = 0, policy = 0;
    if (readable && !set_cookie) {
        vary = spells(name.text, name.size, "vary", 4);
        type = csp && spells(name.text, name.size, "content-type", 12);
        policy = csp && spells(name.text, name.size, "content-security-policy", 23);
    }
    if (name.viewed) {
        PyBuffer_Release(&name.view);
    }
    if (set_cookie) {
        *seen = 1;
        int keep = keeps_set_cookie(keeps, learn, allowed, value, nameless_keep);
        if (keep <= 0) {
            return keep;
        }
        return PyList_Append(result, header);
    }
    if (vary) {
        *vary_index = PyList_GET_SIZE(result);
    }
    else if (type) {
        /* The last one, as a dict would keep (a reference of our own). */
        Py_INCREF(value);
        Py_SETREF(*content_type, value);
    }
    else if (policy) {
        if (*policies == NULL && (*policies = PyList_New(0)) == NULL) {
            return -1;
        }
        if (PyList_Append(*policies, value) < 0) {
            return -1;
        }
    }
    return PyList_Append(result, header);
}

PyDoc_STRVAR(filter_headers_doc,
"filter_headers(headers, keeps, learn, allowed, nameless, csp)\n"
"--\n\n"
"The response headers without the Set-Cookies not allowed, with where Vary was and\n"
"what the CSP needs: consent.scan.filter_headers, in C.");

static PyObject *
filter_headers(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_Format(PyExc_TypeError, "filter_headers() takes 6 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *keeps = args[1], *learn = args[2], *allowed = args[3];
    if (!PyDict_Check(keeps)) {
        PyErr_SetString(PyExc_TypeError, "filter_headers() needs a dict of keeps");
        return NULL;
    }
    unsigned long long allowed_bits = PyLong_AsUnsignedLongLong(allowed);
    unsigned long long nameless = PyLong_AsUnsignedLongLong(args[4]);
    int csp = PyObject_IsTrue(args[5]);
    if (csp < 0 || PyErr_Occurred()) {
        return NULL;
    }
    int nameless_keep = (nameless & allowed_bits) != 0;
    PyObject *headers = PySequence_Fast(args[0], "response headers must be iterable");
    if (headers == NULL) {
        return NULL;
    }
    PyObject *result = PyList_New(0);
    PyObject *content_type = Py_NewRef(Py_None), *policies = NULL; /* both owned */
    Py_ssize_t vary_index = -1;
    int seen = 0;
    if (result == NULL) {
        goto error;
    }
    /* The size and every item are read afresh, and each one held while in use: ``learn``
       is Python code (the middleware's, which leaves the headers alone, but still). */
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(headers); i++) {
        PyObject *header = Py_NewRef(PySequence_Fast_GET_ITEM(headers, i)), *key, *value;
        if (pair_items(header, &key, &value) < 0) {
            Py_DECREF(header);
            goto error;
        }
        int status = filter_one(result, header, key, value, keeps, learn, allowed,
                                nameless_keep, csp, &vary_index, &content_type, &policies,
                                &seen);
        Py_DECREF(key);
        Py_DECREF(value);
        Py_DECREF(header);
        if (status < 0) {
            goto error;
        }
    }
    PyObject *app_policies = policies ? PyList_AsTuple(policies) : PyTuple_New(0);
    if (app_policies == NULL) {
        goto error;
    }
    Py_XDECREF(policies);
    Py_DECREF(headers);
    PyObject *where = PyLong_FromSsize_t(vary_index);
    PyObject *answer = where ? PyTuple_New(5) : NULL;
    if (answer == NULL) {
        Py_XDECREF(where);
        Py_DECREF(app_policies);
        goto error_after_headers;
    }
    /* The tuple takes over the references. */
    PyTuple_SET_ITEM(answer, 0, result);
    PyTuple_SET_ITEM(answer, 1, where);
    PyTuple_SET_ITEM(answer, 2, content_type);
    PyTuple_SET_ITEM(answer, 3, app_policies);
    PyTuple_SET_ITEM(answer, 4, Py_NewRef(seen ? Py_True : Py_False));
    return answer;

error:
    Py_XDECREF(policies);
    Py_DECREF(headers);
error_after_headers:
    Py_XDECREF(result);
    Py_DECREF(content_type);
    return NULL;
}

/* Keep ``value`` in the slot of ``names`` that ``key`` matches, if any: the last value,
   or for the first name all of them joined with "; ". 1 when that joined two, -1 on error. */
static int
read_one(PyObject *answer, PyObject *names, PyObject *key, PyObject *value)
{
    for (Py_ssize_t slot = 0; slot < PyTuple_GET_SIZE(names); slot++) {
        PyObject *name = PyTuple_GET_ITEM(names, slot);
        if (!PyBytes_Check(name) || PyBytes_GET_SIZE(name) != PyBytes_GET_SIZE(key)
            || memcmp(PyBytes_AS_STRING(name), PyBytes_AS_STRING(key),
                      (size_t)PyBytes_GET_SIZE(key)) != 0) {
            continue;
        }
        PyObject *previous = PyTuple_GET_ITEM(answer, slot), *kept;
        int joined = slot == 0 && previous != Py_None;
        if (joined) {
            /* Several Cookie headers (HTTP/2 may send one per cookie): joined. */
            if (!PyBytes_Check(previous) || !PyBytes_Check(value)) {
                PyErr_SetString(PyExc_TypeError, "a Cookie header must be bytes");
                return -1;
            }
            Py_ssize_t first = PyBytes_GET_SIZE(previous), second = PyBytes_GET_SIZE(value);
            if ((kept = PyBytes_FromStringAndSize(NULL, first + 2 + second)) == NULL) {
                return -1;
            }
            char *text = PyBytes_AS_STRING(kept);
            memcpy(text, PyBytes_AS_STRING(previous), (size_t)first);
            memcpy(text + first, "; ", 2);
            memcpy(text + first + 2, PyBytes_AS_STRING(value), (size_t)second);
        }
        else {
            kept = Py_NewRef(value);
        }
        PyTuple_SET_ITEM(answer, slot, kept);
        Py_DECREF(previous);
        return joined;
    }
    return 0;
}

PyDoc_STRVAR(read_headers_doc,
"read_headers(headers, names)\n"
"--\n\n"
"The values of the request headers named in ``names``, and whether the first name came\n"
"more than once: consent.scan.read_headers, in C.");

static PyObject *
read_headers(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "read_headers() takes headers and a tuple of names");
        return NULL;
    }
    PyObject *names = args[1];
    Py_ssize_t wanted = PyTuple_GET_SIZE(names);
    PyObject *headers = PySequence_Fast(args[0], "request headers must be iterable");
    if (headers == NULL) {
        return NULL;
    }
    PyObject *answer = PyTuple_New(wanted + 1);
    if (answer == NULL) {
        Py_DECREF(headers);
        return NULL;
    }
    for (Py_ssize_t slot = 0; slot < wanted; slot++) {
        PyTuple_SET_ITEM(answer, slot, Py_NewRef(Py_None));
    }
    int several = 0;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(headers); i++) {
        PyObject *key, *value;
        if (pair_items(PySequence_Fast_GET_ITEM(headers, i), &key, &value) < 0) {
            goto error;
        }
        int status = PyBytes_CheckExact(key) ? read_one(answer, names, key, value) : 0;
        Py_DECREF(key);
        Py_DECREF(value);
        if (status < 0) {
            goto error;
        }
        several |= status;
    }
    Py_DECREF(headers);
    PyTuple_SET_ITEM(answer, wanted, Py_NewRef(several ? Py_True : Py_False));
    return answer;

error:
    Py_DECREF(headers);
    Py_DECREF(answer); /* the slot of ``several`` is still NULL: tuples allow that */
    return NULL;
}

static PyMethodDef methods[] = {
    {"scan_cookies", (PyCFunction)(void (*)(void))scan_cookies, METH_FASTCALL,
     scan_cookies_doc},
    {"filter_headers", (PyCFunction)(void (*)(void))filter_headers, METH_FASTCALL,
     filter_headers_doc},
    {"read_headers", (PyCFunction)(void (*)(void))read_headers, METH_FASTCALL,
     read_headers_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "consent._speedups",
    .m_doc = "The middleware's per-cookie loops in C (consent/scan.py is their specification).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    init_whitespace();
    return PyModule_Create(&module);
}
