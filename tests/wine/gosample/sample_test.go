// A user's Go package as `GOOS=windows go test` sees it through go_windows_amd64_exec:
// it reaches HNS through vmcompute.dll and leaves files in t.TempDir() for clean-up.
package sample

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

func hnsCall(t *testing.T, method, path, request string) string {
	t.Helper()
	proc := syscall.NewLazyDLL("vmcompute.dll").NewProc("HNSCall")
	m, _ := syscall.UTF16PtrFromString(method)
	p, _ := syscall.UTF16PtrFromString(path)
	r, _ := syscall.UTF16PtrFromString(request)
	var response *uint16
	hr, _, _ := proc.Call(uintptr(unsafe.Pointer(m)), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(r)), uintptr(unsafe.Pointer(&response)))
	if hr != 0 {
		t.Fatalf("HNSCall %s %s: HRESULT 0x%08X", method, path, hr)
	}
	var units []uint16
	for ptr := unsafe.Pointer(response); *(*uint16)(ptr) != 0; ptr = unsafe.Add(ptr, 2) {
		units = append(units, *(*uint16)(ptr))
	}
	syscall.NewLazyDLL("ole32.dll").NewProc("CoTaskMemFree").Call(uintptr(unsafe.Pointer(response)))
	return syscall.UTF16ToString(units)
}

func TestHNSVersion(t *testing.T) {
	if out := hnsCall(t, "GET", "/globals/version", ""); !strings.Contains(out, `"Success":true`) {
		t.Fatalf("envelope %s", out)
	}
}

func TestTempDirCleanUp(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFailsWhenAsked(t *testing.T) {
	if os.Getenv("SAMPLE_FAIL") == "1" {
		t.Fatal("failing as asked")
	}
}
