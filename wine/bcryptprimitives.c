/* bcryptprimitives.dll stand-in. Every Go program (1.22+) loads it at start, which makes
 * it the place for the Wine 8.0 gaps Go programs hit:
 *
 * 1. ProcessPrng, where Go gets all its randomness. Wine 8.0 has no such DLL, so without
 *    this every Go program dies at start. Backed by advapi32's RtlGenRandom
 *    (SystemFunction036). Like Windows' ProcessPrng it always returns TRUE.
 *
 * 2. os.RemoveAll (and so t.TempDir's clean-up) fails with "unlinkat ...: Invalid
 *    function": Go first asks NtSetInformationFile for FileDispositionInformationEx (class
 *    64, Windows 10 1607+) and falls back to the classic FileDispositionInformation only
 *    when the answer is STATUS_INVALID_INFO_CLASS, _INVALID_PARAMETER or _NOT_SUPPORTED;
 *    Wine 8.0 answers STATUS_NOT_IMPLEMENTED. At load we point ntdll's export of
 *    NtSetInformationFile (what GetProcAddress hands Go) at a wrapper that reports that one
 *    case as STATUS_INVALID_INFO_CLASS, i.e. "this Windows is older", so Go takes its own
 *    documented fallback. Nothing else changes; Wine's own callers bound ntdll at load
 *    and never see the wrapper. HNS_EMULATOR_WINE_KEEP_GAPS=1 turns it off (the tests
 *    use it to show the failure it fixes). */
#include <windows.h>
#include <string.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        while (!SystemFunction036(data, chunk)) Sleep(1);
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}

#define FILE_DISPOSITION_INFORMATION_EX_CLASS 64
#define NT_NOT_IMPLEMENTED ((LONG)0xC0000002L)
#define NT_INVALID_INFO_CLASS ((LONG)0xC0000003L)

typedef LONG (WINAPI *set_information_file)(HANDLE, void *, void *, ULONG, int);
static set_information_file real_set_information_file;

static LONG WINAPI set_information_file_wrapper(HANDLE file, void *io, void *info, ULONG length,
                                                int info_class)
{
    LONG status = real_set_information_file(file, io, info, length, info_class);
    if (status == NT_NOT_IMPLEMENTED && info_class == FILE_DISPOSITION_INFORMATION_EX_CLASS)
        return NT_INVALID_INFO_CLASS;
    return status;
}

/* An export-table entry is a 32-bit offset from the module base, so the wrapper is reached
 * through a 12-byte jump stub placed in the 2 GiB above ntdll. */
static void *stub_near(BYTE *base, DWORD image_size)
{
    ULONG_PTR at = ((ULONG_PTR)base + image_size + 0xFFFF) & ~(ULONG_PTR)0xFFFF;
    ULONG_PTR last = (ULONG_PTR)base + 0x7FFF0000;
    for (; at < last; at += 0x10000) {
        BYTE *stub = VirtualAlloc((void *)at, 4096, MEM_RESERVE | MEM_COMMIT,
                                  PAGE_EXECUTE_READWRITE);
        if (stub) {
            ULONG_PTR target = (ULONG_PTR)set_information_file_wrapper;
            DWORD old;
            stub[0] = 0x48; stub[1] = 0xB8; /* mov rax, imm64 */
            memcpy(stub + 2, &target, sizeof target);
            stub[10] = 0xFF; stub[11] = 0xE0; /* jmp rax */
            VirtualProtect(stub, 4096, PAGE_EXECUTE_READ, &old);
            FlushInstructionCache(GetCurrentProcess(), stub, 12);
            return stub;
        }
    }
    return NULL;
}

static void fix_file_disposition(void)
{
    BYTE *base = (BYTE *)GetModuleHandleW(L"ntdll.dll");
    IMAGE_NT_HEADERS *nt;
    IMAGE_EXPORT_DIRECTORY *exports;
    DWORD *names, *functions, i, old;
    WORD *ordinals;
    char keep[8];

    if (GetEnvironmentVariableA("HNS_EMULATOR_WINE_KEEP_GAPS", keep, sizeof keep) && keep[0] == '1')
        return;
    if (!base || ((IMAGE_DOS_HEADER *)base)->e_magic != IMAGE_DOS_SIGNATURE) return;
    nt = (IMAGE_NT_HEADERS *)(base + ((IMAGE_DOS_HEADER *)base)->e_lfanew);
    if (nt->Signature != IMAGE_NT_SIGNATURE) return;
    if (!nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT].VirtualAddress) return;
    exports = (IMAGE_EXPORT_DIRECTORY *)(base +
        nt->OptionalHeader.DataDirectory[IMAGE_DIRECTORY_ENTRY_EXPORT].VirtualAddress);
    names = (DWORD *)(base + exports->AddressOfNames);
    ordinals = (WORD *)(base + exports->AddressOfNameOrdinals);
    functions = (DWORD *)(base + exports->AddressOfFunctions);
    for (i = 0; i < exports->NumberOfNames; i++) {
        DWORD *slot;
        void *stub;
        if (strcmp((const char *)(base + names[i]), "NtSetInformationFile") != 0) continue;
        slot = &functions[ordinals[i]];
        real_set_information_file = (set_information_file)(base + *slot);
        stub = stub_near(base, nt->OptionalHeader.SizeOfImage);
        if (!stub) return;
        if (!VirtualProtect(slot, sizeof *slot, PAGE_READWRITE, &old)) return;
        *slot = (DWORD)((BYTE *)stub - base);
        VirtualProtect(slot, sizeof *slot, old, &old);
        return;
    }
}

BOOL WINAPI DllMain(HINSTANCE instance, DWORD reason, LPVOID reserved)
{
    (void)instance; (void)reserved;
    if (reason == DLL_PROCESS_ATTACH) fix_file_disposition();
    return TRUE;
}
