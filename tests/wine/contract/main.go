// Contract checks of the stand-in DLLs (wine/), run under Wine by tests/wine: each case
// calls the exports the way a Windows program does (syscall, no hcsshim) and prints one
// line per failed expectation; the exit status is 0 only when every check held.
//
// Usage: contract.exe CASE (noop, lifecycle, nulls, big, unicode, threads, hnscall, hcs,
// down, garbage, denied, prng, removeall, version)
package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

var (
	hcn      = syscall.NewLazyDLL("computenetwork.dll")
	vmc      = syscall.NewLazyDLL("vmcompute.dll")
	ole32    = syscall.NewLazyDLL("ole32.dll")
	coFree   = ole32.NewProc("CoTaskMemFree")
	failures []string
	mu       sync.Mutex
)

const (
	sOK          = 0x00000000
	eHandle      = 0x80070006
	ePointer     = 0x80004003
	eInvalidArg  = 0x80070057
	eUnavailable = 0x800706BA
	eAccess      = 0x80070005
)

type guid [16]byte

func fail(format string, args ...any) {
	mu.Lock()
	defer mu.Unlock()
	failures = append(failures, fmt.Sprintf(format, args...))
}

func expect(what string, got, want uint32) {
	if got != want {
		fail("%s: HRESULT 0x%08X, want 0x%08X", what, got, want)
	}
}

func wstr(s string) uintptr {
	p, err := syscall.UTF16PtrFromString(s)
	if err != nil {
		panic(err)
	}
	return uintptr(unsafe.Pointer(p))
}

// take reads and frees a CoTaskMemAlloc'd out string ("" and false for NULL).
func take(p uintptr) (string, bool) {
	if p == 0 {
		return "", false
	}
	// The string is not Go memory: reinterpret the address without uintptr arithmetic.
	start := *(*unsafe.Pointer)(unsafe.Pointer(&p))
	var units []uint16
	for at := start; *(*uint16)(at) != 0; at = unsafe.Add(at, 2) {
		units = append(units, *(*uint16)(at))
	}
	coFree.Call(p)
	return syscall.UTF16ToString(units), true
}

func call(dll *syscall.LazyDLL, name string, args ...uintptr) uint32 {
	r, _, _ := dll.NewProc(name).Call(args...)
	return uint32(r)
}

func parseGUID(s string) guid {
	var g guid
	var d1 uint32
	var d2, d3 uint16
	var d4 [8]byte
	s = strings.Trim(s, "{}")
	if _, err := fmt.Sscanf(s, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", &d1, &d2, &d3,
		&d4[0], &d4[1], &d4[2], &d4[3], &d4[4], &d4[5], &d4[6], &d4[7]); err != nil {
		fail("not a GUID: %q", s)
	}
	*(*uint32)(unsafe.Pointer(&g[0])) = d1
	*(*uint16)(unsafe.Pointer(&g[4])) = d2
	*(*uint16)(unsafe.Pointer(&g[6])) = d3
	copy(g[8:], d4[:])
	return g
}

func networkSettings(name string) string {
	return `{"Name":"` + name + `","Type":"NAT","Ipams":[{"Type":"Static","Subnets":[` +
		`{"IpAddressPrefix":"172.30.0.0/16","Routes":[{"NextHop":"172.30.0.1",` +
		`"DestinationPrefix":"0.0.0.0/0"}]}]}],"SchemaVersion":{"Major":2,"Minor":0}}`
}

const query = `{"SchemaVersion":{"Major":2,"Minor":0}}`

// createNetwork returns the handle and the id HNS gave the network.
func createNetwork(name string) (uintptr, string) {
	var zero guid
	var handle, record uintptr
	hr := call(hcn, "HcnCreateNetwork", uintptr(unsafe.Pointer(&zero)), wstr(networkSettings(name)),
		uintptr(unsafe.Pointer(&handle)), uintptr(unsafe.Pointer(&record)))
	text, has := take(record)
	if hr != sOK || handle == 0 || has {
		fail("HcnCreateNetwork(%q): 0x%08X handle=%x record=%q", name, hr, handle, text)
		return 0, ""
	}
	props := queryProps("HcnQueryNetworkProperties", handle)
	var doc struct{ ID, Name string }
	if err := json.Unmarshal([]byte(props), &doc); err != nil || doc.Name != name {
		fail("network properties %q (name %q): %v", props, name, err)
	}
	return handle, doc.ID
}

func queryProps(export string, handle uintptr) string {
	var props, record uintptr
	hr := call(hcn, export, handle, wstr(query), uintptr(unsafe.Pointer(&props)),
		uintptr(unsafe.Pointer(&record)))
	text, _ := take(props)
	rec, has := take(record)
	if hr != sOK || has {
		fail("%s: 0x%08X record=%q", export, hr, rec)
	}
	return text
}

func deleteNetwork(id string) uint32 {
	g := parseGUID(id)
	var record uintptr
	hr := call(hcn, "HcnDeleteNetwork", uintptr(unsafe.Pointer(&g)), uintptr(unsafe.Pointer(&record)))
	take(record)
	return hr
}

func lifecycle() {
	handle, id := createNetwork("contract-net")
	var ids, record uintptr
	expect("HcnEnumerateNetworks", call(hcn, "HcnEnumerateNetworks", wstr(query),
		uintptr(unsafe.Pointer(&ids)), uintptr(unsafe.Pointer(&record))), sOK)
	list, _ := take(ids)
	if !strings.Contains(strings.ToLower(list), strings.ToLower(id)) {
		fail("enumerate %q lacks %s", list, id)
	}
	g := parseGUID(id)
	var opened uintptr
	expect("HcnOpenNetwork", call(hcn, "HcnOpenNetwork", uintptr(unsafe.Pointer(&g)),
		uintptr(unsafe.Pointer(&opened)), uintptr(unsafe.Pointer(&record))), sOK)
	if opened == 0 || opened == handle {
		fail("HcnOpenNetwork gave handle %x (first %x)", opened, handle)
	}
	// An endpoint on the network the (opened) handle names.
	var zero guid
	var ep uintptr
	hr := call(hcn, "HcnCreateEndpoint", opened, uintptr(unsafe.Pointer(&zero)),
		wstr(`{"SchemaVersion":{"Major":2,"Minor":0}}`), uintptr(unsafe.Pointer(&ep)),
		uintptr(unsafe.Pointer(&record)))
	rec, _ := take(record)
	expect("HcnCreateEndpoint "+rec, hr, sOK)
	props := queryProps("HcnQueryEndpointProperties", ep)
	var doc struct{ ID, HostComputeNetwork string }
	_ = json.Unmarshal([]byte(props), &doc)
	if !strings.EqualFold(doc.HostComputeNetwork, id) {
		fail("endpoint %q is not on network %s", props, id)
	}
	expect("HcnCloseEndpoint", call(hcn, "HcnCloseEndpoint", ep), sOK)
	eg := parseGUID(doc.ID)
	expect("HcnDeleteEndpoint", call(hcn, "HcnDeleteEndpoint", uintptr(unsafe.Pointer(&eg)), 0), sOK)
	// A network handle is not an endpoint handle.
	expect("HcnCloseEndpoint(network handle)", call(hcn, "HcnCloseEndpoint", handle), eHandle)
	expect("HcnModifyNetwork", call(hcn, "HcnModifyNetwork", handle,
		wstr(`{"ResourceType":"Policy","RequestType":"Add","Settings":{"Policies":[]}}`),
		uintptr(unsafe.Pointer(&record))), sOK)
	take(record)
	expect("HcnCloseNetwork", call(hcn, "HcnCloseNetwork", handle), sOK)
	expect("HcnCloseNetwork twice", call(hcn, "HcnCloseNetwork", handle), eHandle)
	var props2 uintptr
	expect("query on a closed handle", call(hcn, "HcnQueryNetworkProperties", handle, wstr(query),
		uintptr(unsafe.Pointer(&props2)), uintptr(unsafe.Pointer(&record))), eHandle)
	if props2 != 0 || record != 0 {
		fail("a refused call left out strings set")
	}
	expect("made-up handle", call(hcn, "HcnQueryNetworkProperties", 0x12345, wstr(query),
		uintptr(unsafe.Pointer(&props2)), uintptr(unsafe.Pointer(&record))), eHandle)
	expect("NULL handle", call(hcn, "HcnCloseNetwork", 0), eHandle)
	expect("second handle still open", call(hcn, "HcnCloseNetwork", opened), sOK)
	expect("HcnDeleteNetwork", deleteNetwork(id), sOK)
	// Deleting it again: HNS's not-found HRESULT and its error record.
	g = parseGUID(id)
	hr = call(hcn, "HcnDeleteNetwork", uintptr(unsafe.Pointer(&g)), uintptr(unsafe.Pointer(&record)))
	rec, has := take(record)
	var errDoc struct {
		Success   bool
		Error     string
		ErrorCode uint32
	}
	if err := json.Unmarshal([]byte(rec), &errDoc); hr&0x80000000 == 0 || !has || err != nil ||
		errDoc.ErrorCode != hr || errDoc.Success || !strings.HasSuffix(errDoc.Error, " ") {
		fail("second delete: 0x%08X record=%q", hr, rec)
	}
	fmt.Printf("deleted-again 0x%08X %s\n", hr, rec)
}

func nulls() {
	var record, ids, handle uintptr
	var zero guid
	expect("enumerate with NULL ids", call(hcn, "HcnEnumerateNetworks", wstr(query), 0,
		uintptr(unsafe.Pointer(&record))), ePointer)
	expect("enumerate with NULL query and NULL record", call(hcn, "HcnEnumerateNetworks", 0,
		uintptr(unsafe.Pointer(&ids)), 0), sOK)
	take(ids)
	expect("create with NULL handle pointer", call(hcn, "HcnCreateNetwork",
		uintptr(unsafe.Pointer(&zero)), wstr(networkSettings("never")), 0,
		uintptr(unsafe.Pointer(&record))), ePointer)
	expect("enumerate after", call(hcn, "HcnEnumerateNetworks", wstr(query),
		uintptr(unsafe.Pointer(&ids)), 0), sOK)
	if list, _ := take(ids); list != "[]" {
		fail("a create refused for its NULL handle pointer still made %s", list)
	}
	hr := call(hcn, "HcnCreateNetwork", uintptr(unsafe.Pointer(&zero)), 0,
		uintptr(unsafe.Pointer(&handle)), uintptr(unsafe.Pointer(&record)))
	rec, has := take(record)
	if hr&0x80000000 == 0 || !has || handle != 0 {
		fail("create with NULL settings: 0x%08X record=%q handle=%x", hr, rec, handle)
	}
	hr = call(hcn, "HcnCreateNetwork", uintptr(unsafe.Pointer(&zero)), wstr("{not json"),
		uintptr(unsafe.Pointer(&handle)), 0)
	if hr&0x80000000 == 0 {
		fail("create with bad JSON and NULL record pointer: 0x%08X", hr)
	}
	expect("open with NULL id", call(hcn, "HcnOpenNetwork", 0, uintptr(unsafe.Pointer(&handle)),
		uintptr(unsafe.Pointer(&record))), ePointer)
	expect("delete with NULL id", call(hcn, "HcnDeleteNetwork", 0, 0), ePointer)
	// A NULL id asks HNS to choose one, as the zero GUID does.
	hr = call(hcn, "HcnCreateNetwork", 0, wstr(networkSettings("null-id")),
		uintptr(unsafe.Pointer(&handle)), 0)
	expect("create with NULL id", hr, sOK)
	expect("query with NULL properties", call(hcn, "HcnQueryNetworkProperties", handle,
		wstr(query), 0, 0), ePointer)
	expect("close", call(hcn, "HcnCloseNetwork", handle), sOK)
	var response uintptr
	expect("HNSCall with NULL response", call(vmc, "HNSCall", wstr("GET"), wstr("/networks/"),
		wstr(""), 0), ePointer)
	expect("HNSCall with NULL request", call(vmc, "HNSCall", wstr("GET"), wstr("/networks/"),
		0, uintptr(unsafe.Pointer(&response))), sOK)
	if text, _ := take(response); !strings.Contains(text, `"Success":true`) {
		fail("HNSCall envelope %q", text)
	}
	expect("HNSCall with NULL method", call(vmc, "HNSCall", 0, wstr("/networks/"), 0,
		uintptr(unsafe.Pointer(&response))), ePointer)
}

func big() {
	// 1 MB of settings: a Name a million characters long. HNS refuses or accepts it;
	// either way an HRESULT, and an error record on refusal.
	var zero guid
	var handle, record uintptr
	settings := networkSettings(strings.Repeat("n", 1000000))
	if len(settings) > 1<<20 {
		panic("settings over 1 MiB")
	}
	hr := call(hcn, "HcnCreateNetwork", uintptr(unsafe.Pointer(&zero)), wstr(settings),
		uintptr(unsafe.Pointer(&handle)), uintptr(unsafe.Pointer(&record)))
	rec, has := take(record)
	if hr&0x80000000 != 0 && !has {
		fail("1 MB settings refused (0x%08X) without an error record", hr)
	}
	if hr == sOK {
		call(hcn, "HcnCloseNetwork", handle)
	}
	fmt.Printf("1MB 0x%08X %.200s\n", hr, rec)
	// Over the emulator's body limit: the 413 becomes E_INVALIDARG.
	hr = call(hcn, "HcnCreateNetwork", uintptr(unsafe.Pointer(&zero)),
		wstr(networkSettings(strings.Repeat("x", 2<<20))), uintptr(unsafe.Pointer(&handle)),
		uintptr(unsafe.Pointer(&record)))
	expect("2 MB settings", hr, eInvalidArg)
}

func unicode() {
	name := "réseau-网络-🙂-ñ"
	handle, id := createNetwork(name)
	call(hcn, "HcnCloseNetwork", handle)
	var response uintptr
	expect("HNSCall", call(vmc, "HNSCall", wstr("GET"), wstr("/networks/"+id), wstr(""),
		uintptr(unsafe.Pointer(&response))), sOK)
	text, _ := take(response)
	if !strings.Contains(text, name) {
		fail("V1 view of %q: %q", name, text)
	}
	expect("delete", deleteNetwork(id), sOK)
}

func threads() {
	var wg sync.WaitGroup
	for t := 0; t < 8; t++ {
		wg.Add(1)
		go func(t int) {
			defer wg.Done()
			runtime.LockOSThread() // eight real OS threads inside the DLL at once
			for i := 0; i < 5; i++ {
				handle, id := createNetwork(fmt.Sprintf("thread-%d-%d", t, i))
				queryProps("HcnQueryNetworkProperties", handle)
				expect("close", call(hcn, "HcnCloseNetwork", handle), sOK)
				expect("close again", call(hcn, "HcnCloseNetwork", handle), eHandle)
				expect("delete", deleteNetwork(id), sOK)
			}
		}(t)
	}
	wg.Wait()
}

func hnscall() {
	var response uintptr
	expect("HNSCall GET", call(vmc, "HNSCall", wstr("GET"), wstr("/globals/version"), wstr(""),
		uintptr(unsafe.Pointer(&response))), sOK)
	text, _ := take(response)
	if !strings.Contains(text, `"Success":true`) || !strings.Contains(text, `"Major"`) {
		fail("version envelope %q", text)
	}
	// A failed V1 call is a successful HNSCall whose envelope says why.
	expect("HNSCall missing", call(vmc, "HNSCall", wstr("GET"),
		wstr("/networks/00000000-0000-0000-0000-0000000000AA"), wstr(""),
		uintptr(unsafe.Pointer(&response))), sOK)
	text, _ = take(response)
	if !strings.Contains(text, `"Success":false`) {
		fail("missing-network envelope %q", text)
	}
	fmt.Println(text)
}

func hcs() {
	var system, result, cb uintptr
	hr := call(vmc, "HcsOpenComputeSystem", wstr("no-such-container"),
		uintptr(unsafe.Pointer(&system)), uintptr(unsafe.Pointer(&result)))
	take(result)
	if hr&0x80000000 == 0 || system != 0 {
		fail("opening a missing compute system: 0x%08X handle=%x", hr, system)
	}
	fmt.Printf("open-missing 0x%08X\n", hr)
	expect("close made-up", call(vmc, "HcsCloseComputeSystem", 0x777), eHandle)
	expect("register on made-up", call(vmc, "HcsRegisterComputeSystemCallback", 0x777, 1, 0,
		uintptr(unsafe.Pointer(&cb))), eHandle)
	expect("unregister made-up", call(vmc, "HcsUnregisterComputeSystemCallback", 0x777), eHandle)
	expect("modify made-up", call(vmc, "HcsModifyComputeSystem", 0x777, wstr("{}"),
		uintptr(unsafe.Pointer(&result))), eHandle)
	expect("enumerate NULL out", call(vmc, "HcsEnumerateComputeSystems", wstr("{}"), 0, 0), ePointer)
}

// unreachable: every export that talks to the emulator answers the given HRESULT (or,
// for "any", some failure) and nothing crashes.
func unreachable(want uint32) {
	var ids, record, response, handle uintptr
	var zero guid
	check := func(what string, hr uint32) {
		if want == 0 {
			if hr&0x80000000 == 0 {
				fail("%s: 0x%08X is not a failure", what, hr)
			}
			fmt.Printf("%s 0x%08X\n", what, hr)
		} else {
			expect(what, hr, want)
		}
	}
	for i := 0; i < 3; i++ {
		check("HcnEnumerateNetworks", call(hcn, "HcnEnumerateNetworks", wstr(query),
			uintptr(unsafe.Pointer(&ids)), uintptr(unsafe.Pointer(&record))))
		check("HcnCreateNetwork", call(hcn, "HcnCreateNetwork", uintptr(unsafe.Pointer(&zero)),
			wstr(networkSettings("x")), uintptr(unsafe.Pointer(&handle)), uintptr(unsafe.Pointer(&record))))
		check("HNSCall", call(vmc, "HNSCall", wstr("GET"), wstr("/networks/"), wstr(""),
			uintptr(unsafe.Pointer(&response))))
	}
	if ids != 0 || handle != 0 || response != 0 {
		fail("failed calls left out values: %x %x %x", ids, handle, response)
	}
}

func prng() {
	b := make([]byte, 64)
	if _, err := rand.Read(b); err != nil {
		fail("crypto/rand: %v", err)
	}
	c := make([]byte, 64)
	rand.Read(c)
	if string(b) == string(c) {
		fail("two random reads are equal")
	}
}

// removeall: what t.TempDir's clean-up does, on a folder holding a file.
func removeall() {
	dir, err := os.MkdirTemp("", "contract-")
	if err != nil {
		fail("MkdirTemp: %v", err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("x"), 0o644); err != nil {
		fail("WriteFile: %v", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		fail("RemoveAll: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		fail("%s still exists: %v", dir, err)
	}
}

// version prints what RtlGetVersion reports (hcsshim's osversion reads the same).
func version() {
	type osVersionInfoEx struct {
		Size, Major, Minor, Build, Platform uint32
		CSD                                 [128]uint16
		SPMajor, SPMinor, Suite             uint16
		ProductType, Reserved               byte
	}
	v := osVersionInfoEx{}
	v.Size = uint32(unsafe.Sizeof(v))
	syscall.NewLazyDLL("ntdll.dll").NewProc("RtlGetVersion").Call(uintptr(unsafe.Pointer(&v)))
	fmt.Printf("windows %d.%d.%d product-type %d\n", v.Major, v.Minor, v.Build, v.ProductType)
}

// bench times `n` HcnQueryNetworkProperties calls on one open handle (bench/wine.py):
// one line "per-call-us <median> <min>", the process start left out.
func bench(n int) {
	handle, id := createNetwork("bench-net")
	defer deleteNetwork(id)
	defer call(hcn, "HcnCloseNetwork", handle)
	times := make([]float64, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		queryProps("HcnQueryNetworkProperties", handle)
		times = append(times, float64(time.Since(start).Nanoseconds())/1000)
	}
	sort.Float64s(times)
	fmt.Printf("per-call-us %.1f %.1f\n", times[len(times)/2], times[0])
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "bench" {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil || n < 1 {
			os.Exit(2)
		}
		bench(n)
		os.Exit(exitStatus())
	}
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: contract.exe CASE | contract.exe bench N")
		os.Exit(2)
	}
	cases := map[string]func(){
		"lifecycle": lifecycle, "nulls": nulls, "big": big, "unicode": unicode,
		"threads": threads, "hnscall": hnscall, "version": version, "hcs": hcs, "prng": prng, "removeall": removeall,
		"down": func() { unreachable(eUnavailable) }, "garbage": func() { unreachable(0) },
		"denied": func() { unreachable(eAccess) }, "noop": func() {},
	}
	run, ok := cases[os.Args[1]]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown case", os.Args[1])
		os.Exit(2)
	}
	run()
	os.Exit(exitStatus())
}

func exitStatus() int {
	for _, f := range failures {
		fmt.Println("FAIL:", f)
	}
	if len(failures) > 0 {
		return 1
	}
	fmt.Println("ok")
	return 0
}
