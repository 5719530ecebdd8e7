/* computenetwork.dll stand-in: the 35 Hcn* exports hcsshim's hcn package declares
 * (hcn/hcn.go at v0.15.0), each one POST /_bridge/<Export> to the emulator.
 *
 * Contracts kept from Windows: HRESULT returns; out strings UTF-16 from CoTaskMemAlloc,
 * NULL before the call and on failure; the error record is the caller's to free and may
 * be asked for with a NULL pointer (it is then dropped); handles come from a table in this
 * DLL, so a closed or unknown handle is E_HANDLE; a NULL handle/properties/id-list out
 * pointer is E_POINTER before anything is sent. A NULL id asks HNS to choose one, as the
 * zero GUID does. */
#include "bridge.h"

static void clear(PWSTR *p) { if (p) *p = NULL; }

static HRESULT hcn_enumerate(const char *name, PCWSTR query, PWSTR *ids, PWSTR *record)
{
    bridge_request req = {0};
    clear(ids); clear(record);
    if (!ids) return BRIDGE_E_POINTER;
    req.export_name = name;
    req.body = query;
    return bridge_invoke(&req, ids, record, NULL);
}

static HRESULT hcn_create(const char *name, int kind, const char *parent, const GUID *id,
                          PCWSTR settings, HANDLE *handle, PWSTR *record)
{
    bridge_request req = {0};
    char guid[37], *answered = NULL;
    HRESULT hr;
    clear(record);
    if (!handle) return BRIDGE_E_POINTER;
    *handle = NULL;
    bridge_format_guid(id, guid);
    req.export_name = name;
    req.id = guid;
    req.parent_id = parent;
    req.body = settings;
    hr = bridge_invoke(&req, NULL, record, &answered);
    if (SUCCEEDED(hr)) {
        *handle = handle_new(kind, answered ? answered : guid);
        if (!*handle) hr = BRIDGE_E_OUTOFMEMORY;
    }
    free(answered);
    return hr;
}

static HRESULT hcn_open(const char *name, int kind, const GUID *id, HANDLE *handle,
                        PWSTR *record)
{
    bridge_request req = {0};
    char guid[37], *answered = NULL;
    HRESULT hr;
    clear(record);
    if (!handle) return BRIDGE_E_POINTER;
    *handle = NULL;
    if (!id) return BRIDGE_E_POINTER;
    bridge_format_guid(id, guid);
    req.export_name = name;
    req.id = guid;
    req.body = NULL;
    hr = bridge_invoke(&req, NULL, record, &answered);
    if (SUCCEEDED(hr)) {
        *handle = handle_new(kind, answered ? answered : guid);
        if (!*handle) hr = BRIDGE_E_OUTOFMEMORY;
    }
    free(answered);
    return hr;
}

/* Modify and Query: an open handle plus one input string. */
static HRESULT hcn_on_handle(const char *name, int kind, HANDLE handle, PCWSTR text,
                             PWSTR *props, BOOL wants_props, PWSTR *record)
{
    return bridge_invoke_on_handle(name, kind, handle, text, props, wants_props, record);
}

static HRESULT hcn_delete(const char *name, const GUID *id, PWSTR *record)
{
    bridge_request req = {0};
    char guid[37];
    clear(record);
    if (!id) return BRIDGE_E_POINTER;
    bridge_format_guid(id, guid);
    req.export_name = name;
    req.id = guid;
    return bridge_invoke(&req, NULL, record, NULL);
}

/* Close releases the handle here first (so it is E_HANDLE from now on, whatever the
 * emulator says), then tells the emulator, which logs it and may inject a fault. */
static HRESULT hcn_close(const char *name, int kind, HANDLE handle)
{
    bridge_request req = {0};
    char *id;
    HRESULT hr;
    if (!handle_close(handle, kind, &id)) return BRIDGE_E_HANDLE;
    req.export_name = name;
    req.id = id;
    hr = bridge_invoke(&req, NULL, NULL, NULL);
    free(id);
    return hr;
}

#define HCN_KIND(Kind, Kinds, KIND)                                                          \
    HRESULT WINAPI HcnEnumerate##Kinds(PCWSTR query, PWSTR *ids, PWSTR *record)               \
    { return hcn_enumerate("HcnEnumerate" #Kinds, query, ids, record); }                     \
    HRESULT WINAPI HcnOpen##Kind(const GUID *id, HANDLE *handle, PWSTR *record)               \
    { return hcn_open("HcnOpen" #Kind, KIND, id, handle, record); }                          \
    HRESULT WINAPI HcnModify##Kind(HANDLE handle, PCWSTR settings, PWSTR *record)             \
    { return hcn_on_handle("HcnModify" #Kind, KIND, handle, settings, NULL, FALSE, record); } \
    HRESULT WINAPI HcnQuery##Kind##Properties(HANDLE handle, PCWSTR query, PWSTR *props,      \
                                              PWSTR *record)                                 \
    { return hcn_on_handle("HcnQuery" #Kind "Properties", KIND, handle, query, props, TRUE,  \
                           record); }                                                        \
    HRESULT WINAPI HcnDelete##Kind(const GUID *id, PWSTR *record)                             \
    { return hcn_delete("HcnDelete" #Kind, id, record); }                                    \
    HRESULT WINAPI HcnClose##Kind(HANDLE handle)                                              \
    { return hcn_close("HcnClose" #Kind, KIND, handle); }

#define HCN_CREATE(Kind, KIND)                                                               \
    HRESULT WINAPI HcnCreate##Kind(const GUID *id, PCWSTR settings, HANDLE *handle,           \
                                   PWSTR *record)                                            \
    { return hcn_create("HcnCreate" #Kind, KIND, NULL, id, settings, handle, record); }

HCN_KIND(Network, Networks, KIND_NETWORK)
HCN_KIND(Endpoint, Endpoints, KIND_ENDPOINT)
HCN_KIND(Namespace, Namespaces, KIND_NAMESPACE)
HCN_KIND(LoadBalancer, LoadBalancers, KIND_LOADBALANCER)
HCN_KIND(SdnRoute, SdnRoutes, KIND_ROUTE)
HCN_CREATE(Network, KIND_NETWORK)
HCN_CREATE(Namespace, KIND_NAMESPACE)
HCN_CREATE(LoadBalancer, KIND_LOADBALANCER)
HCN_CREATE(SdnRoute, KIND_ROUTE)

/* The one export that differs: the endpoint is created on the network the handle names. */
HRESULT WINAPI HcnCreateEndpoint(HANDLE network, const GUID *id, PCWSTR settings,
                                 HANDLE *handle, PWSTR *record)
{
    char *parent;
    HRESULT hr;
    clear(record);
    if (!handle) return BRIDGE_E_POINTER;
    *handle = NULL;
    parent = handle_id(network, KIND_NETWORK);
    if (!parent) return BRIDGE_E_HANDLE;
    hr = hcn_create("HcnCreateEndpoint", KIND_ENDPOINT, parent, id, settings, handle, record);
    free(parent);
    return hr;
}
