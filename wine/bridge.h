/* The one thing every stand-in DLL does: turn an export call into one HTTP request to the
 * emulator (POST /_bridge/<Export>) and hand the answer back with Windows' contracts.
 *
 * Wire form (docs/go.md): input string as the UTF-8 body; ids, HNSCall method and path in
 * X-Bridge-* headers (percent-encoded UTF-8); the answer's HRESULT in X-Bridge-HResult,
 * the created/opened object's id in X-Bridge-Id, the out string as the UTF-8 body (or
 * "X-Bridge-Out: none"). The DLL never parses JSON.
 */
#ifndef HNS_BRIDGE_H
#define HNS_BRIDGE_H

#include <windows.h>
#include <stdlib.h>

#define BRIDGE_E_HANDLE        ((HRESULT)0x80070006L) /* ERROR_INVALID_HANDLE */
#define BRIDGE_E_POINTER       ((HRESULT)0x80004003L)
#define BRIDGE_E_OUTOFMEMORY   ((HRESULT)0x8007000EL)
#define BRIDGE_E_INVALIDARG    ((HRESULT)0x80070057L)
#define BRIDGE_E_UNEXPECTED    ((HRESULT)0x8000FFFFL) /* the emulator answered garbage */
#define BRIDGE_E_ACCESSDENIED  ((HRESULT)0x80070005L) /* 401/403: wrong HNS_EMULATOR_TOKEN */
#define BRIDGE_E_NOTIMPL       ((HRESULT)0x80004001L) /* 404/405: emulator without /_bridge */
#define BRIDGE_E_FAIL          ((HRESULT)0x80004005L) /* any other non-200 status */
#define BRIDGE_E_UNAVAILABLE   ((HRESULT)0x800706BAL) /* RPC_S_SERVER_UNAVAILABLE: HNS down */
#define BRIDGE_E_TOO_BUSY      ((HRESULT)0x800706BBL) /* RPC_S_SERVER_TOO_BUSY: 429 */
#define BRIDGE_E_CALL_FAILED   ((HRESULT)0x800706BEL) /* RPC_S_CALL_FAILED: closed, no answer */
#define BRIDGE_E_TIMEOUT       ((HRESULT)0x800705B4L) /* ERROR_TIMEOUT */

enum bridge_kind {
    KIND_NETWORK = 1, KIND_ENDPOINT, KIND_NAMESPACE, KIND_LOADBALANCER, KIND_ROUTE,
    KIND_SYSTEM, KIND_CALLBACK
};

typedef struct bridge_request {
    const char *export_name; /* "HcnCreateNetwork" */
    const char *id;          /* X-Bridge-Id: safe ASCII (GUID text or percent-encoded) */
    const char *parent_id;   /* X-Bridge-Parent-Id (HcnCreateEndpoint) */
    PCWSTR method;           /* X-Bridge-Method (HNSCall) */
    PCWSTR path;             /* X-Bridge-Path (HNSCall) */
    PCWSTR body;             /* the input string; NULL sends X-Bridge-Null: 1 */
} bridge_request;

/* One call. The out string goes to *props when the export has a properties pointer and
 * the call succeeded, else to *record (NULL record pointers are tolerated: the string is
 * freed). answer_id (may be NULL) receives the X-Bridge-Id answered, malloc'd. */
HRESULT bridge_invoke(const bridge_request *req, PWSTR *props, PWSTR *record, char **answer_id);

/* A call on an open handle of `kind` with one input string: Hcn Modify/Query and every
 * per-system Hcs export. Clears the outs first; E_POINTER when props is wanted and NULL,
 * E_HANDLE when the handle is unknown, closed or of another kind. */
HRESULT bridge_invoke_on_handle(const char *name, int kind, HANDLE handle, PCWSTR text,
                                PWSTR *props, BOOL wants_props, PWSTR *record);

/* "%08x-%04x-..." lowercase; a NULL guid is the zero GUID. */
void bridge_format_guid(const GUID *guid, char out[37]);
/* UTF-16 -> UTF-8 with every byte outside 0x21..0x7E and '%' as %XX (malloc'd). */
char *bridge_percent_encode(PCWSTR text);

/* The DLL's handle table: handles are never reused, so a closed or made-up handle is
 * E_HANDLE, never someone else's object. Thread-safe. */
HANDLE handle_new(int kind, const char *id);
char *handle_id(HANDLE handle, int kind);            /* malloc'd copy, NULL if invalid */
BOOL handle_close(HANDLE handle, int kind, char **id); /* id: malloc'd copy, may be NULL */

#endif
