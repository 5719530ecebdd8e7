/* bcryptprimitives.dll stand-in: ProcessPrng, where Go 1.22+ gets all its randomness.
 * Wine 8.0 has no such DLL, so without this every Go program dies at start. Backed by
 * advapi32's RtlGenRandom (SystemFunction036), which Wine has. Like Windows' ProcessPrng
 * it always returns TRUE: there is no failure a caller could handle. */
#include <windows.h>

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
