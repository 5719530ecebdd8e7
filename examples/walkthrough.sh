#!/usr/bin/env bash
# A walk through the emulator with the tools a Windows admin knows: curl against the HNS
# API, hnsdiag, vfpctrl.  It starts its own `hns-emulator serve` (in-memory state, a free
# loopback port), checks every answer, and stops the server on exit.  Any failed check
# exits non-zero.
#
#   bash examples/walkthrough.sh        (needs: pip install -e . ; curl ; python3)
set -euo pipefail

PYTHON="${PYTHON:-python3}"
PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
export HNS_EMULATOR_URL="http://127.0.0.1:${PORT}"
LOG="$(mktemp)"

hns-emulator serve --state :memory: --port "$PORT" >"$LOG" 2>&1 &
SERVER_PID=$!
cleanup() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    rm -f "$LOG"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'walkthrough: FAILED: %s\n' "$*" >&2; exit 1; }
expect() {  # expect <text> <what it must contain>
    case "$1" in *"$2"*) ;; *) fail "expected '$2' in: $1" ;; esac
}
json() {  # json <document> <python expression over d>
    "$PYTHON" -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}
api() {  # api <method> <path> [body]: the body of the answer; curl fails on HTTP >= 400
    curl -sS --fail-with-body -X "$1" "${HNS_EMULATOR_URL}$2" \
        -H 'Content-Type: application/json' ${3:+-d "$3"}
}

for _ in $(seq 100); do
    curl -sf "${HNS_EMULATOR_URL}/_emulator/health" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$LOG" >&2; fail "server exited"; }
    sleep 0.1
done

step "HNS version (what hcsshim reads to pick features)"
version="$(api GET /globals/version)"
echo "$version"
expect "$version" '"Major":15'

step "an L2Bridge network through the HCN (V2) API"
net="$(api POST /hcn/networks '{"Name":"cbr0","Type":"L2Bridge","Ipams":[{"Type":"Static","Subnets":[{"IpAddressPrefix":"10.244.1.0/24","Routes":[{"NextHop":"10.244.1.1","DestinationPrefix":"0.0.0.0/0"}]}]}]}')"
NET_ID="$(json "$net" 'd["ID"]')"
echo "network $NET_ID"

step "two pod endpoints; HNS hands out the addresses"
ep1="$(api POST /hcn/endpoints "{\"Name\":\"pod-a\",\"HostComputeNetwork\":\"$NET_ID\",\"Policies\":[{\"Type\":\"ACL\",\"Settings\":{\"Protocols\":\"6\",\"Action\":\"Allow\",\"Direction\":\"In\",\"LocalPorts\":\"8080\",\"Priority\":100}}]}")"
ep2="$(api POST /hcn/endpoints "{\"Name\":\"pod-b\",\"HostComputeNetwork\":\"$NET_ID\"}")"
EP1="$(json "$ep1" 'd["ID"]')"
EP2="$(json "$ep2" 'd["ID"]')"
# vfpctrl names a port by its own GUID, which HNS reports as EndpointPortGuid (V2: in
# Health.Extra.Resources), as microsoft/SDN's networkhealth.ps1 reads it.
PORT1="$(json "$ep1" 'd["Health"]["Extra"]["Resources"]["Allocators"][0]["EndpointPortGuid"]')"
PORT2="$(json "$ep2" 'd["Health"]["Extra"]["Resources"]["Allocators"][0]["EndpointPortGuid"]')"
IP1="$(json "$ep1" 'd["IpConfigurations"][0]["IpAddress"]')"
echo "pod-a $EP1 $IP1"
echo "pod-b $EP2 $(json "$ep2" 'd["IpConfigurations"][0]["IpAddress"]')"
expect "$IP1" "10.244.1."

step "a ClusterIP load balancer over both"
lb="$(api POST /hcn/loadbalancers "{\"HostComputeEndpoints\":[\"$EP1\",\"$EP2\"],\"FrontendVIPs\":[\"10.96.0.20\"],\"PortMappings\":[{\"Protocol\":6,\"InternalPort\":8080,\"ExternalPort\":80}]}")"
echo "load balancer $(json "$lb" 'd["ID"]')"

step "the same VIP and port again: HNS refuses it (0x803B0013)"
clash="$(curl -sS -X POST "${HNS_EMULATOR_URL}/hcn/loadbalancers" -d "{\"HostComputeEndpoints\":[\"$EP1\"],\"FrontendVIPs\":[\"10.96.0.20\"],\"PortMappings\":[{\"Protocol\":6,\"InternalPort\":8080,\"ExternalPort\":80}]}")"
echo "$clash"
expect "$clash" '"ErrorCode":2151350291'

step "hnsdiag list all"
diag="$(hnsdiag list all)"
echo "$diag"
expect "$diag" "cbr0"
expect "$diag" "pod-a"
expect "$diag" "10.96.0.20"

step "vfpctrl: the ports HNS programmed, and pod-a's layers"
ports="$(vfpctrl /list-vmswitch-port)"
echo "$ports"
expect "$ports" "$PORT1"
layers="$(vfpctrl /port "$PORT1" /list-layer)"
echo "$layers"
expect "$layers" "ACL_ENDPOINT_LAYER"
expect "$layers" "SLB_LB_LAYER"

step "vfpctrl /process-tuples: TCP to the VIP from pod-b is load balanced"
tuples="$(vfpctrl /port "$PORT2" /process-tuples "6 $(json "$ep2" 'd["IpConfigurations"][0]["IpAddress"]') 40000 10.96.0.20 80 out 1")"
echo "$tuples"
expect "$tuples" "Verdict: allow"
expect "$tuples" "Modify Destination port -> 8080"
expect "$tuples" "succeeded"

step "an injected fault: the next endpoint create fails as a stopping HNS does"
api POST /_emulator/faults '{"Target":"HcnCreateEndpoint","Mode":"Fail","HResult":"0x803B0020","Times":1}' >/dev/null
refused="$(curl -sS -X POST "${HNS_EMULATOR_URL}/hcn/endpoints" -d "{\"HostComputeNetwork\":\"$NET_ID\"}")"
echo "$refused"
expect "$refused" '"ErrorCode":2151350304'
api POST /hcn/endpoints "{\"Name\":\"pod-c\",\"HostComputeNetwork\":\"$NET_ID\"}" >/dev/null

step "the call log shows both tries"
calls="$(api GET '/_emulator/calls?state=false')"
n="$(json "$calls" 'sum(1 for c in d["Calls"] if "HcnCreateEndpoint" in json.dumps(c))')"
echo "HcnCreateEndpoint calls: $n"
[ "$n" -ge 4 ] || fail "expected at least 4 endpoint creates in the call log, got $n"

step "reset: an empty emulator again"
api POST /_emulator/reset >/dev/null
expect "$(hnsdiag list networks)" "Networks:"
[ "$(api GET /hcn/networks)" = "[]" ] || fail "networks left after reset"

printf '\nwalkthrough: all steps passed\n'
