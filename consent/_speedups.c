/*
 * consent._speedups: the middleware's loops over headers and cookies, in C.
 *
 * consent/scan.py is the specification of read_headers, scan_cookies and
 * filter_headers, and consent/middleware.py's _plain_message and _csp_message (with
 * _filter) that of send_message: each function here does exactly what its Python
 * namesake does (tests/test_scan.py compares them on generated input, the whole
 * middleware included), and the middleware runs the Python ones when this module is
 * not built. Why it exists at all (docs/performance.md): in the interpreter every
 * cookie costs a partition's tuple and two bytes objects, a hash of the fresh name and
 * some twenty bytecodes; here it costs one bytes object for the name and one
 * dictionary probe.
 *
 * What the code may trust: nothing about the bytes. A Cookie header is chosen by the
 * client and a Set-Cookie by the app; both are only ever read between their start and
 * their length, byte by byte or with memchr, and nothing is written anywhere but into
 * new Python objects. No name or value is parsed further than finding ';' and '='.
 * What a name means is decided in Python: the caches are the middleware's dicts, and
 * a miss calls back into the middleware, which fills them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* The two context tuples the middleware builds once, field by field: the scan's in
   ConsentMiddleware.__init__ (as consent.scan.scan_cookies unpacks it), the send's in
   ConsentMiddleware._send_context. Keep the three in the same order. */
enum {
    SCAN_BITS, SCAN_LEARN, SCAN_NAMELESS, SCAN_TRUNCATED, SCAN_LIMIT, SCAN_MAX_BYTES,
    SCAN_CONTEXT_SIZE
};
enum {
    SEND_KEEPS_BY_MASK, SEND_MAKE_KEEPS, SEND_LEARN_KEEP, SEND_NAMELESS, SEND_HEADER_VALUE,
    SEND_HEADER_NAME, SEND_VARY_COOKIE, SEND_ADD_VARY, SEND_SET_COOKIE, SEND_RUNNABLE,
    SEND_PARTS, SEND_HOSTS_MASK, SEND_CONTEXT_SIZE
};

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
"scan_cookies(header, context, own)\n"
"--\n\n"
"The union of the verdict bits of a request Cookie header's pieces and the value of\n"
"the first cookie whose bit is ``own``: consent.scan.scan_cookies, in C.");

static PyObject *
scan_cookies(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyTuple_Check(args[1]) || PyTuple_GET_SIZE(args[1]) != SCAN_CONTEXT_SIZE) {
        PyErr_SetString(PyExc_TypeError,
                        "scan_cookies() takes a header, its context and our cookie's bit");
        return NULL;
    }
    PyObject *header = args[0], *context = args[1];
    PyObject *bits = PyTuple_GET_ITEM(context, SCAN_BITS), *learn = PyTuple_GET_ITEM(context, SCAN_LEARN);
    if (!PyBytes_Check(header) || !PyDict_Check(bits)) {
        PyErr_SetString(PyExc_TypeError, "scan_cookies() needs bytes and a dict");
        return NULL;
    }
    unsigned long long own = PyLong_AsUnsignedLongLong(args[2]);
    unsigned long long nameless = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(context, SCAN_NAMELESS));
    unsigned long long truncated = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(context, SCAN_TRUNCATED));
    Py_ssize_t limit = PyLong_AsSsize_t(PyTuple_GET_ITEM(context, SCAN_LIMIT));
    Py_ssize_t max_bytes = PyLong_AsSsize_t(PyTuple_GET_ITEM(context, SCAN_MAX_BYTES));
    if (PyErr_Occurred()) {
        return NULL;
    }
    const char *start = PyBytes_AS_STRING(header);
    const char *end = start + PyBytes_GET_SIZE(header);
    unsigned long long present = 0;
    if (max_bytes >= 0 && PyBytes_GET_SIZE(header) > max_bytes) {
        /* Past the byte bound: cut after the last ';' within it (cookies.within_bounds). */
        const char *last = NULL;
        for (const char *p = start; p < start + max_bytes; p++) {
            if (*p == ';') {
                last = p;
            }
        }
        end = last ? last + 1 : start;
        present = truncated;
    }
    const char *piece = start;
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

/* What one pass over the response headers found (filter_headers' answer, unpacked). */
typedef struct {
    PyObject *kept;         /* list of the headers kept */
    Py_ssize_t vary_index;  /* where the app's Vary is in ``kept``, or -1 */
    PyObject *content_type; /* the last Content-Type, or None */
    PyObject *policies;     /* tuple of the app's own CSP values */
    int seen;               /* whether any Set-Cookie came */
} filtered;

static void
filtered_clear(filtered *out)
{
    Py_CLEAR(out->kept);
    Py_CLEAR(out->content_type);
    Py_CLEAR(out->policies);
}

/* The pass itself; on success every field holds a reference, on error none does. */
static int
filter_pass(PyObject *given, PyObject *keeps, PyObject *learn, PyObject *allowed,
            PyObject *nameless_bit, int csp, filtered *out)
{
    out->kept = out->content_type = out->policies = NULL;
    out->vary_index = -1;
    out->seen = 0;
    if (!PyDict_Check(keeps)) {
        PyErr_SetString(PyExc_TypeError, "filter_headers() needs a dict of keeps");
        return -1;
    }
    unsigned long long allowed_bits = PyLong_AsUnsignedLongLong(allowed);
    unsigned long long nameless = PyLong_AsUnsignedLongLong(nameless_bit);
    if (PyErr_Occurred()) {
        return -1;
    }
    int nameless_keep = (nameless & allowed_bits) != 0;
    PyObject *headers = PySequence_Fast(given, "response headers must be iterable");
    if (headers == NULL) {
        return -1;
    }
    PyObject *policies = NULL; /* a list, made on the first app policy (rare) */
    out->content_type = Py_NewRef(Py_None);
    if ((out->kept = PyList_New(0)) == NULL) {
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
        int status = filter_one(out->kept, header, key, value, keeps, learn, allowed,
                                nameless_keep, csp, &out->vary_index, &out->content_type,
                                &policies, &out->seen);
        Py_DECREF(key);
        Py_DECREF(value);
        Py_DECREF(header);
        if (status < 0) {
            goto error;
        }
    }
    out->policies = policies ? PyList_AsTuple(policies) : PyTuple_New(0);
    if (out->policies == NULL) {
        goto error;
    }
    Py_XDECREF(policies);
    Py_DECREF(headers);
    return 0;

error:
    Py_XDECREF(policies);
    Py_DECREF(headers);
    filtered_clear(out);
    return -1;
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
    int csp = PyObject_IsTrue(args[5]);
    filtered out;
    if (csp < 0 || filter_pass(args[0], args[1], args[2], args[3], args[4], csp, &out) < 0) {
        return NULL;
    }
    PyObject *where = PyLong_FromSsize_t(out.vary_index);
    PyObject *answer = where ? PyTuple_New(5) : NULL;
    if (answer == NULL) {
        Py_XDECREF(where);
        filtered_clear(&out);
        return NULL;
    }
    /* The tuple takes over the references. */
    PyTuple_SET_ITEM(answer, 0, out.kept);
    PyTuple_SET_ITEM(answer, 1, where);
    PyTuple_SET_ITEM(answer, 2, out.content_type);
    PyTuple_SET_ITEM(answer, 3, out.policies);
    PyTuple_SET_ITEM(answer, 4, Py_NewRef(out.seen ? Py_True : Py_False));
    return answer;
}

/* Interned once at import: the message keys and types send_message compares. */
static PyObject *str_type, *str_headers, *str_http_start, *str_ws_accept, *str_ws_start;

/* Whether ``type`` is ``expected`` (interned): identity first, as servers use literals. */
static int
is_type(PyObject *type, PyObject *expected)
{
    if (type == expected) {
        return 1;
    }
    return PyUnicode_Check(type) && PyUnicode_Compare(type, expected) == 0;
}

/* ContentSecurityPolicy.header_value's usual case: no policy of the app's, a nonce, and
   both caches filled. A new reference (None: the response runs nothing), or NULL
   without an error when the case is not the usual one: the caller asks Python. */
static PyObject *
usual_policy(PyObject *context, PyObject *content_type, PyObject *allowed, PyObject *nonce,
             PyObject *app_policies)
{
    PyObject *runnable_cache = PyTuple_GET_ITEM(context, SEND_RUNNABLE);
    PyObject *parts_cache = PyTuple_GET_ITEM(context, SEND_PARTS);
    if (PyTuple_GET_SIZE(app_policies) != 0 || !PyBytes_Check(nonce)
        || !PyDict_Check(runnable_cache) || !PyDict_Check(parts_cache)) {
        return NULL;
    }
    PyObject *runnable = PyDict_GetItemWithError(runnable_cache, content_type); /* borrowed */
    if (runnable == Py_False) {
        return Py_NewRef(Py_None);
    }
    if (runnable != Py_True) {
        return NULL; /* a miss (or an error, which the caller sees) */
    }
    unsigned long long mask = PyLong_AsUnsignedLongLong(allowed)
                              & PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(context, SEND_HOSTS_MASK));
    if (PyErr_Occurred()) {
        return NULL;
    }
    PyObject *key = PyLong_FromUnsignedLongLong(mask);
    if (key == NULL) {
        return NULL;
    }
    PyObject *parts = PyDict_GetItemWithError(parts_cache, key); /* borrowed */
    Py_DECREF(key);
    /* csp.Parts, a named tuple: (before, after, before_nonce, after_nonce). */
    if (parts == NULL || !PyTuple_Check(parts) || PyTuple_GET_SIZE(parts) != 4) {
        return NULL;
    }
    PyObject *before = PyTuple_GET_ITEM(parts, 2), *after = PyTuple_GET_ITEM(parts, 3);
    if (!PyBytes_Check(before) || !PyBytes_Check(after)) {
        return NULL;
    }
    Py_ssize_t sizes[3] = {PyBytes_GET_SIZE(before), PyBytes_GET_SIZE(nonce),
                           PyBytes_GET_SIZE(after)};
    PyObject *policy = PyBytes_FromStringAndSize(NULL, sizes[0] + sizes[1] + sizes[2]);
    if (policy == NULL) {
        return NULL;
    }
    char *text = PyBytes_AS_STRING(policy);
    memcpy(text, PyBytes_AS_STRING(before), (size_t)sizes[0]);
    memcpy(text + sizes[0], PyBytes_AS_STRING(nonce), (size_t)sizes[1]);
    memcpy(text + sizes[0] + sizes[1], PyBytes_AS_STRING(after), (size_t)sizes[2]);
    return policy;
}

/* The response headers of a start message, filtered and completed (expirations, the
   CSP, Vary), as consent.middleware._filter builds them. New reference, or NULL. */
static PyObject *
completed_headers(PyObject *context, PyObject *headers, PyObject *allowed,
                  PyObject *expiries, PyObject *nonce)
{
    PyObject *set_cookie_keeps = PyTuple_GET_ITEM(context, SEND_KEEPS_BY_MASK);
    PyObject *make_keeps = PyTuple_GET_ITEM(context, SEND_MAKE_KEEPS);
    PyObject *learn = PyTuple_GET_ITEM(context, SEND_LEARN_KEEP);
    PyObject *nameless = PyTuple_GET_ITEM(context, SEND_NAMELESS);
    PyObject *header_value = PyTuple_GET_ITEM(context, SEND_HEADER_VALUE);
    PyObject *header_name = PyTuple_GET_ITEM(context, SEND_HEADER_NAME);
    PyObject *vary_cookie = PyTuple_GET_ITEM(context, SEND_VARY_COOKIE);
    PyObject *add_vary = PyTuple_GET_ITEM(context, SEND_ADD_VARY);
    PyObject *set_cookie = PyTuple_GET_ITEM(context, SEND_SET_COOKIE);
    int csp = header_value != Py_None;

    PyObject *keeps = PyDict_GetItemWithError(set_cookie_keeps, allowed); /* borrowed */
    if (keeps != NULL) {
        Py_INCREF(keeps);
    }
    else if (PyErr_Occurred() || (keeps = PyObject_CallOneArg(make_keeps, allowed)) == NULL) {
        return NULL;
    }
    filtered out;
    int status = filter_pass(headers, keeps, learn, allowed, nameless, csp, &out);
    Py_DECREF(keeps);
    if (status < 0) {
        return NULL;
    }
    PyObject *kept = out.kept;
    Py_ssize_t expired = PyList_Check(expiries) ? PyList_GET_SIZE(expiries) : 0;
    for (Py_ssize_t i = 0; i < expired; i++) {
        PyObject *expiry = PyTuple_Pack(2, set_cookie, PyList_GET_ITEM(expiries, i));
        if (expiry == NULL || PyList_Append(kept, expiry) < 0) {
            Py_XDECREF(expiry);
            goto error;
        }
        Py_DECREF(expiry);
    }
    if (csp && out.content_type != Py_None) {
        PyObject *policy = usual_policy(context, out.content_type, allowed, nonce, out.policies);
        if (policy == NULL && !PyErr_Occurred()) {
            PyObject *call[4] = {out.content_type, allowed, nonce, out.policies};
            policy = PyObject_Vectorcall(header_value, call, 4, NULL);
        }
        if (policy == NULL) {
            goto error;
        }
        if (policy != Py_None) {
            PyObject *pair = PyTuple_Pack(2, header_name, policy);
            if (pair == NULL || PyList_Append(kept, pair) < 0) {
                Py_XDECREF(pair);
                Py_DECREF(policy);
                goto error;
            }
            Py_DECREF(pair);
            out.seen = 1; /* the policy depends on the consent cookie too */
        }
        Py_DECREF(policy);
    }
    if (out.seen || expired) {
        if (out.vary_index < 0) {
            if (PyList_Append(kept, vary_cookie) < 0) {
                goto error;
            }
        }
        else {
            /* The app's Vary, which filter_pass kept as a pair: Cookie added to it. */
            PyObject *key, *value;
            if (pair_items(PyList_GET_ITEM(kept, out.vary_index), &key, &value) < 0) {
                goto error;
            }
            PyObject *merged = PyObject_CallOneArg(add_vary, value);
            Py_DECREF(key);
            Py_DECREF(value);
            PyObject *pair = merged ? PyTuple_Pack(2, PyTuple_GET_ITEM(vary_cookie, 0), merged)
                                    : NULL;
            Py_XDECREF(merged);
            if (pair == NULL || PyList_SetItem(kept, out.vary_index, pair) < 0) {
                goto error;
            }
        }
    }
    out.kept = NULL; /* handed to the caller */
    filtered_clear(&out);
    return kept;

error:
    filtered_clear(&out);
    return NULL;
}

PyDoc_STRVAR(send_message_doc,
"send_message(context, send, allowed, expiries, nonce, message)\n"
"--\n\n"
"Filter a response start message's headers, then pass the message to ``send``: the\n"
"middleware's _plain_message (no CSP in the context) or _csp_message, in C.");

static PyObject *
send_message(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyTuple_Check(args[0]) || PyTuple_GET_SIZE(args[0]) != SEND_CONTEXT_SIZE
        || !(PyList_Check(args[3]) || (PyTuple_Check(args[3]) && PyTuple_GET_SIZE(args[3]) == 0))) {
        PyErr_SetString(PyExc_TypeError,
                        "send_message() takes a context, send, allowed, expiries (a list "
                        "or ()), a nonce and the message");
        return NULL;
    }
    PyObject *context = args[0], *send = args[1], *allowed = args[2], *expiries = args[3];
    PyObject *nonce = args[4], *message = args[5];
    int csp = PyTuple_GET_ITEM(context, SEND_HEADER_VALUE) != Py_None;
    PyObject *type = PyObject_GetItem(message, str_type);
    if (type == NULL) {
        return NULL;
    }
    /* With the CSP, HTTP responses only (the middleware makes this send for HTTP only);
       without it, every message that carries response headers. */
    int start = csp ? is_type(type, str_http_start)
                    : is_type(type, str_http_start) || is_type(type, str_ws_accept)
                          || is_type(type, str_ws_start);
    Py_DECREF(type);
    if (start) {
        PyObject *headers = PyDict_Check(message)
                                ? Py_XNewRef(PyDict_GetItemWithError(message, str_headers))
                                : PyObject_CallMethod(message, "get", "O", str_headers);
        if (headers == NULL && PyErr_Occurred()) {
            return NULL;
        }
        int expiring = PyList_Check(expiries) && PyList_GET_SIZE(expiries) > 0;
        if ((headers != NULL && headers != Py_None) || expiring) {
            int empty = headers == NULL || headers == Py_None ? 1 : PyObject_Not(headers);
            if (empty < 0) {
                Py_DECREF(headers);
                return NULL;
            }
            PyObject *given = empty ? PyTuple_New(0) : Py_NewRef(headers); /* headers or () */
            PyObject *completed =
                given ? completed_headers(context, given, allowed, expiries, nonce) : NULL;
            Py_XDECREF(given);
            if (completed == NULL || PyObject_SetItem(message, str_headers, completed) < 0) {
                Py_XDECREF(completed);
                Py_XDECREF(headers);
                return NULL;
            }
            Py_DECREF(completed);
        }
        Py_XDECREF(headers);
    }
    return PyObject_CallOneArg(send, message);
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
    {"send_message", (PyCFunction)(void (*)(void))send_message, METH_FASTCALL,
     send_message_doc},
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
    str_type = PyUnicode_InternFromString("type");
    str_headers = PyUnicode_InternFromString("headers");
    str_http_start = PyUnicode_InternFromString("http.response.start");
    str_ws_accept = PyUnicode_InternFromString("websocket.accept");
    str_ws_start = PyUnicode_InternFromString("websocket.http.response.start");
    if (!str_type || !str_headers || !str_http_start || !str_ws_accept || !str_ws_start) {
        return NULL;
    }
    return PyModule_Create(&module);
}
