/* The stand-in DLLs' HTTP/1.1 client (plain Winsock, Content-Length, one connection per
 * call) and their handle table. See bridge.h for the wire form. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <objbase.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge.h"

#define DEFAULT_URL "http://127.0.0.1:5588"
/* Answers larger than this are treated as garbage rather than allocated. */
#define MAX_ANSWER ((size_t)512 << 20)
/* A call that hangs this long fails with ERROR_TIMEOUT instead of hanging the caller. */
#define RECV_TIMEOUT_MS 300000

static INIT_ONCE winsock_once = INIT_ONCE_STATIC_INIT;
static BOOL winsock_ok;

static BOOL CALLBACK start_winsock(PINIT_ONCE once, PVOID param, PVOID *context)
{
    WSADATA data;
    (void)once; (void)param; (void)context;
    winsock_ok = WSAStartup(MAKEWORD(2, 2), &data) == 0;
    return TRUE;
}

/* -- growable byte buffer --------------------------------------------------------- */

typedef struct { char *data; size_t len, cap; BOOL failed; } buf;

static void buf_add(buf *b, const char *data, size_t len)
{
    if (b->failed) return;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        char *grown;
        while (cap < b->len + len + 1) cap *= 2;
        grown = realloc(b->data, cap);
        if (!grown) { b->failed = TRUE; return; }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
}

static void buf_str(buf *b, const char *s) { buf_add(b, s, strlen(s)); }

/* -- strings ---------------------------------------------------------------------- */

static char *utf8_of(PCWSTR text, int *len_out)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, text, -1, NULL, 0, NULL, NULL);
    char *out;
    if (n <= 0) n = 1;
    out = malloc((size_t)n);
    if (!out) return NULL;
    if (WideCharToMultiByte(CP_UTF8, 0, text, -1, out, n, NULL, NULL) <= 0) out[0] = 0;
    if (len_out) *len_out = (int)strlen(out);
    return out;
}

static PWSTR co_wide_of(const char *utf8, size_t len)
{
    int n = len ? MultiByteToWideChar(CP_UTF8, 0, utf8, (int)len, NULL, 0) : 0;
    PWSTR out;
    if (n < 0) n = 0;
    out = CoTaskMemAlloc(((size_t)n + 1) * sizeof(WCHAR));
    if (!out) return NULL;
    if (n) MultiByteToWideChar(CP_UTF8, 0, utf8, (int)len, out, n);
    out[n] = 0;
    return out;
}

char *bridge_percent_encode(PCWSTR text)
{
    static const char hex[] = "0123456789ABCDEF";
    char *utf8 = utf8_of(text, NULL), *out, *o;
    const unsigned char *p;
    if (!utf8) return NULL;
    out = malloc(strlen(utf8) * 3 + 1);
    if (out) {
        for (p = (const unsigned char *)utf8, o = out; *p; p++) {
            if (*p > 0x20 && *p < 0x7F && *p != '%') {
                *o++ = (char)*p;
            } else {
                *o++ = '%'; *o++ = hex[*p >> 4]; *o++ = hex[*p & 15];
            }
        }
        *o = 0;
    }
    free(utf8);
    return out;
}

void bridge_format_guid(const GUID *g, char out[37])
{
    static const GUID zero;
    if (!g) g = &zero;
    snprintf(out, 37, "%08lx-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             (unsigned long)g->Data1, g->Data2, g->Data3, g->Data4[0], g->Data4[1],
             g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6], g->Data4[7]);
}

static BOOL safe_header_value(const char *s)
{
    for (; *s; s++) if ((unsigned char)*s < 0x20 || *s == 0x7F) return FALSE;
    return TRUE;
}

/* -- the emulator's address ---------------------------------------------------------- */

typedef struct { char host[256]; char port[8]; char base[512]; char host_header[300]; } target;

/* http://host[:port][/base]; [v6]:port allowed. FALSE for anything else. */
static BOOL parse_url(const char *url, target *t)
{
    const char *p = url, *host_end, *slash;
    size_t n;
    if (_strnicmp(p, "http://", 7) != 0) return FALSE;
    p += 7;
    slash = strchr(p, '/');
    if (!slash) slash = p + strlen(p);
    n = (size_t)(slash - p);
    if (n == 0 || n >= sizeof(t->host_header)) return FALSE;
    memcpy(t->host_header, p, n);
    t->host_header[n] = 0;
    strcpy(t->port, "80");
    if (*p == '[') {
        host_end = memchr(p, ']', n);
        if (!host_end) return FALSE;
        memcpy(t->host, p + 1, (size_t)(host_end - p - 1));
        t->host[host_end - p - 1] = 0;
        host_end++;
    } else {
        host_end = memchr(p, ':', n);
        if (!host_end) host_end = slash;
        if ((size_t)(host_end - p) >= sizeof(t->host)) return FALSE;
        memcpy(t->host, p, (size_t)(host_end - p));
        t->host[host_end - p] = 0;
    }
    if (host_end < slash && *host_end == ':') {
        size_t plen = (size_t)(slash - host_end - 1);
        if (plen == 0 || plen >= sizeof(t->port)) return FALSE;
        memcpy(t->port, host_end + 1, plen);
        t->port[plen] = 0;
    }
    if (strlen(slash) >= sizeof(t->base)) return FALSE;
    strcpy(t->base, slash);
    n = strlen(t->base);
    while (n && t->base[n - 1] == '/') t->base[--n] = 0;
    return t->host[0] != 0 && safe_header_value(t->base) && !strchr(t->base, ' ');
}

static char *env(const char *name)
{
    DWORD n = GetEnvironmentVariableA(name, NULL, 0);
    char *value;
    if (n == 0) return NULL;
    value = malloc(n);
    if (value && GetEnvironmentVariableA(name, value, n) >= n) { free(value); value = NULL; }
    return value;
}

/* -- one HTTP exchange ----------------------------------------------------------------- */

static HRESULT exchange(const target *t, const buf *request, buf *answer)
{
    struct addrinfo hints, *addrs = NULL, *a;
    SOCKET s = INVALID_SOCKET;
    size_t sent = 0;
    DWORD timeout = RECV_TIMEOUT_MS;
    int one = 1;
    char chunk[65536];

    InitOnceExecuteOnce(&winsock_once, start_winsock, NULL, NULL);
    if (!winsock_ok) return BRIDGE_E_UNAVAILABLE;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    if (getaddrinfo(t->host, t->port, &hints, &addrs) != 0) return BRIDGE_E_UNAVAILABLE;
    for (a = addrs; a; a = a->ai_next) {
        s = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (s == INVALID_SOCKET) continue;
        if (connect(s, a->ai_addr, (int)a->ai_addrlen) == 0) break;
        closesocket(s);
        s = INVALID_SOCKET;
    }
    freeaddrinfo(addrs);
    if (s == INVALID_SOCKET) return BRIDGE_E_UNAVAILABLE;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof one);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&timeout, sizeof timeout);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, (const char *)&timeout, sizeof timeout);
    while (sent < request->len) {
        size_t left = request->len - sent;
        int n = send(s, request->data + sent, left > 0x100000 ? 0x100000 : (int)left, 0);
        if (n <= 0) break; /* the server may have answered early (413, 401): read it */
        sent += (size_t)n;
    }
    for (;;) {
        int n = recv(s, chunk, sizeof chunk, 0);
        if (n == 0) break;
        if (n < 0) {
            int err = WSAGetLastError();
            closesocket(s);
            if (err == WSAETIMEDOUT) return BRIDGE_E_TIMEOUT;
            return answer->len ? BRIDGE_E_UNEXPECTED : BRIDGE_E_CALL_FAILED;
        }
        if (answer->len + (size_t)n > MAX_ANSWER) { closesocket(s); return BRIDGE_E_UNEXPECTED; }
        buf_add(answer, chunk, (size_t)n);
        if (answer->failed) { closesocket(s); return BRIDGE_E_OUTOFMEMORY; }
    }
    closesocket(s);
    return answer->len ? S_OK : BRIDGE_E_CALL_FAILED;
}

/* -- the answer ------------------------------------------------------------------------ */

typedef struct {
    int status;
    BOOL have_hr, no_out;
    HRESULT hr;
    char *id;
    const char *body;
    size_t body_len;
} parsed;

static BOOL header_is(const char *line, size_t len, const char *name, const char **value)
{
    size_t n = strlen(name);
    if (len <= n || _strnicmp(line, name, n) != 0 || line[n] != ':') return FALSE;
    *value = line + n + 1;
    while (*value < line + len && (**value == ' ' || **value == '\t')) (*value)++;
    return TRUE;
}

static BOOL parse_hex32(const char *p, const char *end, HRESULT *out)
{
    unsigned long long v = 0;
    int digits = 0;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t')) end--;
    if (end - p < 3 || p[0] != '0' || (p[1] != 'x' && p[1] != 'X')) return FALSE;
    for (p += 2; p < end; p++, digits++) {
        int d;
        if (*p >= '0' && *p <= '9') d = *p - '0';
        else if (*p >= 'a' && *p <= 'f') d = *p - 'a' + 10;
        else if (*p >= 'A' && *p <= 'F') d = *p - 'A' + 10;
        else return FALSE;
        v = v * 16 + (unsigned)d;
        if (digits >= 8) return FALSE;
    }
    *out = (HRESULT)(unsigned long)v;
    return TRUE;
}

/* FALSE: not an HTTP/1.x answer with a complete Content-Length body. */
static BOOL parse_answer(const buf *answer, parsed *out)
{
    const char *data = answer->data, *end = data + answer->len, *line, *head_end = NULL;
    const char *p;
    unsigned long long content_length = 0;
    BOOL have_length = FALSE;

    memset(out, 0, sizeof *out);
    if (answer->len < 12 || strncmp(data, "HTTP/1.", 7) != 0 || data[8] != ' ') return FALSE;
    if (data[9] < '1' || data[9] > '5' || data[10] < '0' || data[10] > '9' ||
        data[11] < '0' || data[11] > '9') return FALSE;
    out->status = (data[9] - '0') * 100 + (data[10] - '0') * 10 + (data[11] - '0');
    for (p = data; p + 3 < end; p++) {
        if (p[0] == '\r' && p[1] == '\n' && p[2] == '\r' && p[3] == '\n') { head_end = p; break; }
    }
    if (!head_end) return FALSE;
    line = memchr(data, '\n', (size_t)(head_end - data));
    line = line ? line + 1 : head_end;
    while (line < head_end) {
        const char *eol = memchr(line, '\r', (size_t)(head_end - line) + 1);
        const char *value;
        size_t len;
        if (!eol) eol = head_end;
        len = (size_t)(eol - line);
        if (header_is(line, len, "Content-Length", &value)) {
            have_length = TRUE;
            if (value >= eol) return FALSE;
            for (; value < eol; value++) {
                if (*value < '0' || *value > '9') return FALSE;
                content_length = content_length * 10 + (unsigned)(*value - '0');
                if (content_length > MAX_ANSWER) return FALSE;
            }
        } else if (header_is(line, len, "Transfer-Encoding", &value)) {
            return FALSE; /* the bridge route always sends Content-Length */
        } else if (header_is(line, len, "X-Bridge-HResult", &value)) {
            if (!parse_hex32(value, eol, &out->hr)) return FALSE;
            out->have_hr = TRUE;
        } else if (header_is(line, len, "X-Bridge-Out", &value)) {
            out->no_out = (eol - value) >= 4 && _strnicmp(value, "none", 4) == 0;
        } else if (header_is(line, len, "X-Bridge-Id", &value)) {
            size_t n = (size_t)(eol - value);
            free(out->id);
            out->id = malloc(n + 1);
            if (!out->id) return FALSE;
            memcpy(out->id, value, n);
            out->id[n] = 0;
        }
        line = eol + 2;
    }
    out->body = head_end + 4;
    out->body_len = (size_t)(end - out->body);
    if (have_length) {
        if (content_length > out->body_len) { free(out->id); out->id = NULL; return FALSE; }
        out->body_len = (size_t)content_length;
    }
    return TRUE;
}

static HRESULT hresult_of_status(int status)
{
    switch (status) {
    case 401: case 403: return BRIDGE_E_ACCESSDENIED;
    case 404: case 405: return BRIDGE_E_NOTIMPL;
    case 413: return BRIDGE_E_INVALIDARG;
    case 429: return BRIDGE_E_TOO_BUSY;
    case 502: case 503: return BRIDGE_E_UNAVAILABLE;
    case 504: return BRIDGE_E_TIMEOUT;
    default: return BRIDGE_E_FAIL;
    }
}

static void add_header(buf *b, const char *name, const char *value)
{
    buf_str(b, name);
    buf_str(b, ": ");
    buf_str(b, value);
    buf_str(b, "\r\n");
}

static BOOL add_wide_header(buf *b, const char *name, PCWSTR value)
{
    char *encoded = bridge_percent_encode(value ? value : L"");
    if (!encoded) return FALSE;
    add_header(b, name, encoded);
    free(encoded);
    return TRUE;
}

static HRESULT build_request(const bridge_request *req, const target *t, buf *b)
{
    char *token = env("HNS_EMULATOR_TOKEN"), *body = NULL, number[32];
    int body_len = 0;
    HRESULT hr = S_OK;

    if (req->body) {
        body = utf8_of(req->body, &body_len);
        if (!body) { free(token); return BRIDGE_E_OUTOFMEMORY; }
    }
    buf_str(b, "POST ");
    buf_str(b, t->base);
    buf_str(b, "/_bridge/");
    buf_str(b, req->export_name);
    buf_str(b, " HTTP/1.1\r\n");
    add_header(b, "Host", t->host_header);
    add_header(b, "Connection", "close");
    add_header(b, "User-Agent", "hns-emulator-bridge/1");
    add_header(b, "Content-Type", "text/plain; charset=utf-8");
    snprintf(number, sizeof number, "%d", body_len);
    add_header(b, "Content-Length", number);
    if (token && token[0]) {
        if (!safe_header_value(token)) hr = BRIDGE_E_INVALIDARG;
        buf_str(b, "Authorization: Bearer ");
        buf_str(b, token);
        buf_str(b, "\r\n");
    }
    if (req->id) add_header(b, "X-Bridge-Id", req->id);
    if (req->parent_id) add_header(b, "X-Bridge-Parent-Id", req->parent_id);
    if (req->method && !add_wide_header(b, "X-Bridge-Method", req->method)) hr = BRIDGE_E_OUTOFMEMORY;
    if (req->path && !add_wide_header(b, "X-Bridge-Path", req->path)) hr = BRIDGE_E_OUTOFMEMORY;
    if (!req->body) add_header(b, "X-Bridge-Null", "1");
    buf_str(b, "\r\n");
    if (body) buf_add(b, body, (size_t)body_len);
    free(body);
    free(token);
    if (b->failed) return BRIDGE_E_OUTOFMEMORY;
    return hr;
}

HRESULT bridge_invoke(const bridge_request *req, PWSTR *props, PWSTR *record, char **answer_id)
{
    char *url = env("HNS_EMULATOR_URL");
    target t;
    buf request = {0}, answer = {0};
    parsed p;
    HRESULT hr;
    PWSTR out = NULL;

    if (answer_id) *answer_id = NULL;
    if (!parse_url(url ? url : DEFAULT_URL, &t)) { free(url); return BRIDGE_E_INVALIDARG; }
    free(url);
    hr = build_request(req, &t, &request);
    if (SUCCEEDED(hr)) hr = exchange(&t, &request, &answer);
    free(request.data);
    if (FAILED(hr)) { free(answer.data); return hr; }
    if (!parse_answer(&answer, &p)) { free(answer.data); return BRIDGE_E_UNEXPECTED; }
    if (p.status != 200) {
        free(p.id);
        free(answer.data);
        return hresult_of_status(p.status);
    }
    if (!p.have_hr) { free(p.id); free(answer.data); return BRIDGE_E_UNEXPECTED; }
    hr = p.hr;
    if (!p.no_out) {
        out = co_wide_of(p.body, p.body_len);
        if (!out) { free(p.id); free(answer.data); return BRIDGE_E_OUTOFMEMORY; }
    }
    free(answer.data);
    if (answer_id) *answer_id = p.id; else free(p.id);
    if (props && SUCCEEDED(hr)) *props = out;
    else if (record) *record = out;
    else CoTaskMemFree(out);
    return hr;
}

/* -- handles --------------------------------------------------------------------------- */

/* A handle is (serial << 32) | (slot + 1); serials only grow, so a stale handle never
 * matches the slot's next occupant. */
typedef struct { unsigned serial; int kind; char *id; } slot;

static SRWLOCK table_lock = SRWLOCK_INIT;
static slot *slots;
static size_t slot_count, slot_cap;
static unsigned next_serial = 1;

HANDLE handle_new(int kind, const char *id)
{
    size_t i;
    char *copy = _strdup(id ? id : "");
    HANDLE h = NULL;
    if (!copy) return NULL;
    AcquireSRWLockExclusive(&table_lock);
    for (i = 0; i < slot_count && slots[i].serial; i++) {}
    if (i == slot_count) {
        if (slot_count == slot_cap) {
            size_t cap = slot_cap ? slot_cap * 2 : 64;
            slot *grown = cap < 0xFFFFFFFFu ? realloc(slots, cap * sizeof *slots) : NULL;
            if (!grown) goto out;
            slots = grown;
            slot_cap = cap;
        }
        slot_count++;
    }
    slots[i].serial = next_serial++;
    if (next_serial == 0) next_serial = 1;
    slots[i].kind = kind;
    slots[i].id = copy;
    copy = NULL;
    h = (HANDLE)(((ULONG_PTR)slots[i].serial << 32) | (ULONG_PTR)(i + 1));
out:
    ReleaseSRWLockExclusive(&table_lock);
    free(copy);
    return h;
}

static slot *find(HANDLE handle, int kind)
{
    ULONG_PTR value = (ULONG_PTR)handle;
    size_t i = (size_t)(value & 0xFFFFFFFFu);
    unsigned serial = (unsigned)(value >> 32);
    if (i == 0 || i > slot_count || serial == 0) return NULL;
    if (slots[i - 1].serial != serial || slots[i - 1].kind != kind) return NULL;
    return &slots[i - 1];
}

char *handle_id(HANDLE handle, int kind)
{
    slot *s;
    char *copy = NULL;
    AcquireSRWLockShared(&table_lock);
    s = find(handle, kind);
    if (s) copy = _strdup(s->id);
    ReleaseSRWLockShared(&table_lock);
    return copy;
}

BOOL handle_close(HANDLE handle, int kind, char **id)
{
    slot *s;
    char *old = NULL;
    AcquireSRWLockExclusive(&table_lock);
    s = find(handle, kind);
    if (s) {
        old = s->id;
        s->id = NULL;
        s->serial = 0;
    }
    ReleaseSRWLockExclusive(&table_lock);
    if (id) *id = old; else free(old);
    return s != NULL;
}

HRESULT bridge_invoke_on_handle(const char *name, int kind, HANDLE handle, PCWSTR text,
                                PWSTR *props, BOOL wants_props, PWSTR *record)
{
    bridge_request req = {0};
    char *id;
    HRESULT hr;
    if (props) *props = NULL;
    if (record) *record = NULL;
    if (wants_props && !props) return BRIDGE_E_POINTER;
    id = handle_id(handle, kind);
    if (!id) return BRIDGE_E_HANDLE;
    req.export_name = name;
    req.id = id;
    req.body = text;
    hr = bridge_invoke(&req, wants_props ? props : NULL, record, NULL);
    free(id);
    return hr;
}
