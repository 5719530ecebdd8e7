/* vmcompute.dll stand-in: HNSCall (hcsshim's V1 path) and the Hcs* compute-system exports
 * hcsshim's HotAttachEndpoint path resolves (internal/vmcompute at v0.15.0), each one
 * POST /_bridge/<Export> to the emulator, which owns the compute-system model.
 *
 * Local to the DLL, on purpose: HcsCloseComputeSystem (releasing a handle needs no HCS
 * state) and the callback pair. The emulator finishes every operation synchronously
 * (never HCS_E_OPERATION_PENDING), so there is no notification to deliver: a registered
 * callback is never called, which is what hcsshim expects of a system that has not exited
 * (its waitBackground goroutine ends when Close closes the callback's channels). */
#include "bridge.h"

static void clear(PWSTR *p) { if (p) *p = NULL; }

HRESULT WINAPI HNSCall(PCWSTR method, PCWSTR path, PCWSTR request, PWSTR *response)
{
    bridge_request req = {0};
    clear(response);
    if (!response) return BRIDGE_E_POINTER;
    if (!method || !path) return BRIDGE_E_POINTER;
    req.export_name = "HNSCall";
    req.method = method;
    req.path = path;
    req.body = request;
    return bridge_invoke(&req, NULL, response, NULL);
}

/* HcsCreateComputeSystem / HcsOpenComputeSystem: an id string in, a handle out. */
static HRESULT hcs_get_handle(const char *name, PCWSTR id, PCWSTR configuration, BOOL has_config,
                              HANDLE *system, PWSTR *result)
{
    bridge_request req = {0};
    char *encoded, *answered = NULL;
    HRESULT hr;
    clear(result);
    if (!system) return BRIDGE_E_POINTER;
    *system = NULL;
    if (!id) return BRIDGE_E_POINTER;
    encoded = bridge_percent_encode(id);
    if (!encoded) return BRIDGE_E_OUTOFMEMORY;
    req.export_name = name;
    req.id = encoded;
    req.body = has_config ? configuration : NULL;
    hr = bridge_invoke(&req, NULL, result, &answered);
    if (SUCCEEDED(hr)) {
        *system = handle_new(KIND_SYSTEM, answered ? answered : encoded);
        if (!*system) hr = BRIDGE_E_OUTOFMEMORY;
    }
    free(answered);
    free(encoded);
    return hr;
}

HRESULT WINAPI HcsCreateComputeSystem(PCWSTR id, PCWSTR configuration, HANDLE identity,
                                      HANDLE *system, PWSTR *result)
{
    (void)identity; /* a token handle for the container's account: nothing to emulate */
    return hcs_get_handle("HcsCreateComputeSystem", id, configuration, TRUE, system, result);
}

HRESULT WINAPI HcsOpenComputeSystem(PCWSTR id, HANDLE *system, PWSTR *result)
{
    return hcs_get_handle("HcsOpenComputeSystem", id, NULL, FALSE, system, result);
}

HRESULT WINAPI HcsCloseComputeSystem(HANDLE system)
{
    return handle_close(system, KIND_SYSTEM, NULL) ? S_OK : BRIDGE_E_HANDLE;
}

/* Every other per-system export: the handle's id, one input string, one or two outs. */
static HRESULT hcs_on_system(const char *name, HANDLE system, PCWSTR text, PWSTR *props,
                             BOOL wants_props, PWSTR *result)
{
    return bridge_invoke_on_handle(name, KIND_SYSTEM, system, text, props, wants_props, result);
}

#define HCS_OPERATION(Name)                                                              \
    HRESULT WINAPI Hcs##Name##ComputeSystem(HANDLE system, PCWSTR options, PWSTR *result)  \
    { return hcs_on_system("Hcs" #Name "ComputeSystem", system, options, NULL, FALSE, result); }

HCS_OPERATION(Start)
HCS_OPERATION(Shutdown)
HCS_OPERATION(Terminate)
HCS_OPERATION(Pause)
HCS_OPERATION(Resume)
HCS_OPERATION(Save)
HCS_OPERATION(Modify)

HRESULT WINAPI HcsGetComputeSystemProperties(HANDLE system, PCWSTR query, PWSTR *properties,
                                             PWSTR *result)
{
    return hcs_on_system("HcsGetComputeSystemProperties", system, query, properties, TRUE,
                         result);
}

HRESULT WINAPI HcsEnumerateComputeSystems(PCWSTR query, PWSTR *systems, PWSTR *result)
{
    bridge_request req = {0};
    clear(systems); clear(result);
    if (!systems) return BRIDGE_E_POINTER;
    req.export_name = "HcsEnumerateComputeSystems";
    req.body = query;
    return bridge_invoke(&req, systems, result, NULL);
}

HRESULT WINAPI HcsRegisterComputeSystemCallback(HANDLE system, void *callback, void *context,
                                                HANDLE *callback_handle)
{
    char *id;
    (void)context;
    if (!callback_handle) return BRIDGE_E_POINTER;
    *callback_handle = NULL;
    if (!callback) return BRIDGE_E_POINTER;
    id = handle_id(system, KIND_SYSTEM);
    if (!id) return BRIDGE_E_HANDLE;
    *callback_handle = handle_new(KIND_CALLBACK, id);
    free(id);
    return *callback_handle ? S_OK : BRIDGE_E_OUTOFMEMORY;
}

HRESULT WINAPI HcsUnregisterComputeSystemCallback(HANDLE callback_handle)
{
    return handle_close(callback_handle, KIND_CALLBACK, NULL) ? S_OK : BRIDGE_E_HANDLE;
}
