//go:build windows

package cnidemo

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/Microsoft/hcsshim"
	"github.com/Microsoft/hcsshim/hcn"
)

const (
	networkName = "vxlan0"
	podPrefix   = "10.244.1.0/24"
	podGateway  = "10.244.1.1"
	vni         = 4096
)

var spec = PodSpec{
	Name: "web-0", ServiceVIP: "10.96.0.50", ServicePort: 80, ContainerPort: 8080,
	NATExceptions: []string{"10.244.0.0/16", "10.96.0.0/12"},
}

func TestAddReadBackDel(t *testing.T) {
	network, err := EnsureOverlayNetwork(networkName, podPrefix, podGateway, vni, "Ethernet")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = network.Delete() }()
	again, err := EnsureOverlayNetwork(networkName, podPrefix, podGateway, vni, "Ethernet")
	if err != nil || again.Id != network.Id {
		t.Fatalf("second ensure made another network: %v (%v)", again, err)
	}
	var hasHostRoute bool
	for _, p := range network.Policies {
		hasHostRoute = hasHostRoute || p.Type == hcn.HostRoute
	}
	if !hasHostRoute {
		t.Errorf("HostRoute policy missing after AddPolicy: %+v", network.Policies)
	}

	pod, err := Add(network, spec)
	if err != nil {
		t.Fatal(err)
	}

	// V2 read-back
	ep, err := hcn.GetEndpointByID(pod.EndpointID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(ep.HostComputeNetwork, network.Id) || len(ep.IpConfigurations) != 1 {
		t.Fatalf("endpoint not on the network or without an IP: %+v", ep)
	}
	ip := ep.IpConfigurations[0].IpAddress
	if !strings.HasPrefix(ip, "10.244.1.") || ip == podGateway {
		t.Errorf("endpoint IP %s is not a pod address of %s", ip, podPrefix)
	}
	kinds := map[hcn.EndpointPolicyType]int{}
	for _, p := range ep.Policies {
		kinds[p.Type]++
		if p.Type == hcn.OutBoundNAT {
			var nat hcn.OutboundNatPolicySetting
			if err := json.Unmarshal(p.Settings, &nat); err != nil {
				t.Fatal(err)
			}
			if strings.Join(nat.Exceptions, ",") != strings.Join(spec.NATExceptions, ",") {
				t.Errorf("OutBoundNAT exceptions %v, want %v", nat.Exceptions, spec.NATExceptions)
			}
		}
	}
	if kinds[hcn.OutBoundNAT] != 1 || kinds[hcn.ACL] != 2 {
		t.Errorf("endpoint policies %v, want 1 OutBoundNAT and 2 ACL", kinds)
	}
	ids, err := hcn.GetNamespaceEndpointIds(pod.NamespaceID)
	if err != nil || len(ids) != 1 || !strings.EqualFold(ids[0], pod.EndpointID) {
		t.Errorf("namespace endpoints %v (%v), want [%s]", ids, err, pod.EndpointID)
	}
	lb, err := hcn.GetLoadBalancerByID(pod.LoadBalancerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(lb.HostComputeEndpoints) != 1 || !strings.EqualFold(lb.HostComputeEndpoints[0], pod.EndpointID) ||
		len(lb.FrontendVIPs) != 1 || lb.FrontendVIPs[0] != spec.ServiceVIP ||
		len(lb.PortMappings) != 1 || lb.PortMappings[0].ExternalPort != 80 || lb.PortMappings[0].InternalPort != 8080 {
		t.Errorf("load balancer %+v", lb)
	}
	onNetwork, err := hcn.ListEndpointsOfNetwork(network.Id)
	if err != nil || len(onNetwork) != 1 {
		t.Errorf("ListEndpointsOfNetwork: %d endpoints (%v)", len(onNetwork), err)
	}

	// V1 read-back of the same objects
	v1net, err := hcsshim.GetHNSNetworkByName(networkName)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.EqualFold(v1net.Id, network.Id) || v1net.Type != "Overlay" {
		t.Errorf("V1 network %+v", v1net)
	}
	v1ep, err := hcsshim.GetHNSEndpointByID(pod.EndpointID)
	if err != nil {
		t.Fatal(err)
	}
	if v1ep.IPAddress.String() != ip || !strings.EqualFold(v1ep.VirtualNetwork, network.Id) {
		t.Errorf("V1 endpoint %s on %s, want %s on %s", v1ep.IPAddress, v1ep.VirtualNetwork, ip, network.Id)
	}
	v1lb, err := hcsshim.GetPolicyListByID(pod.LoadBalancerID)
	if err != nil {
		t.Fatal(err)
	}
	if len(v1lb.EndpointReferences) != 1 || !strings.Contains(strings.ToLower(v1lb.EndpointReferences[0]), strings.ToLower(pod.EndpointID)) {
		t.Errorf("V1 policy list endpoint references %v", v1lb.EndpointReferences)
	}

	if err := Del(pod); err != nil {
		t.Fatal(err)
	}
	if _, err := hcn.GetEndpointByID(pod.EndpointID); !hcn.IsNotFoundError(err) {
		t.Errorf("endpoint still there after Del: %v", err)
	}
	if _, err := hcn.GetLoadBalancerByID(pod.LoadBalancerID); !hcn.IsNotFoundError(err) {
		t.Errorf("load balancer still there after Del: %v", err)
	}
	if _, err := hcn.GetNamespaceByID(pod.NamespaceID); !hcn.IsNotFoundError(err) {
		t.Errorf("namespace still there after Del: %v", err)
	}
	if err := Del(pod); err != nil {
		t.Errorf("second Del: %v", err)
	}
}

func TestAddRollsBackOnError(t *testing.T) {
	network, err := EnsureOverlayNetwork(networkName, podPrefix, podGateway, vni, "Ethernet")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = network.Delete() }()
	bad := spec
	bad.ServiceVIP = "not-an-ip"
	if pod, err := Add(network, bad); err == nil {
		_ = Del(pod)
		t.Fatal("a load balancer with a bad VIP was accepted")
	}
	left, err := hcn.ListEndpointsOfNetwork(network.Id)
	if err != nil || len(left) != 0 {
		t.Errorf("rollback left %d endpoints (%v)", len(left), err)
	}
}

// A runtime creates and starts the container through HCS, then the V1 path hot-attaches.
func TestHotAttachToContainer(t *testing.T) {
	network, err := EnsureOverlayNetwork(networkName, podPrefix, podGateway, vni, "Ethernet")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = network.Delete() }()

	const id = "cnidemo-pause-1"
	container, err := hcsshim.CreateContainer(id, &hcsshim.ContainerConfig{
		SystemType: "Container", Name: id, Owner: "cnidemo"})
	if err != nil {
		t.Fatal(err)
	}
	defer container.Close()
	if err := container.Start(); err != nil {
		t.Fatal(err)
	}
	listed, err := hcsshim.GetContainers(hcsshim.ComputeSystemQuery{Owners: []string{"cnidemo"}})
	if err != nil || len(listed) != 1 || listed[0].ID != id || listed[0].State != "Running" {
		t.Fatalf("GetContainers: %+v (%v)", listed, err)
	}

	endpoint, err := AddV1(network, id, "pause")
	if err != nil {
		t.Fatal(err)
	}
	if attached, err := endpoint.IsAttached(id); err != nil || !attached {
		t.Errorf("endpoint not attached after HotAttachEndpoint (%v)", err)
	}
	if err := hcsshim.HotAttachEndpoint(id, endpoint.Id); err != nil {
		t.Errorf("a second HotAttachEndpoint is a no-op for hcsshim, got %v", err)
	}
	if err := DelV1(id, endpoint.Id); err != nil {
		t.Fatal(err)
	}
	if _, err := hcsshim.GetHNSEndpointByID(endpoint.Id); err == nil {
		t.Error("endpoint still there after DelV1")
	}

	if _, err := AddV1(network, "no-such-container", "ghost"); !errors.Is(err, hcsshim.ErrComputeSystemDoesNotExist) {
		t.Errorf("hot-attach to a missing container: %v, want ErrComputeSystemDoesNotExist", err)
	}
	if left, _ := hcn.ListEndpointsOfNetwork(network.Id); len(left) != 0 {
		t.Errorf("a failed AddV1 left %d endpoints", len(left))
	}

	if err := container.Terminate(); !hcsshim.IsPending(err) {
		t.Errorf("Terminate: %v, want hcsshim's 'pending' (it returns that on success)", err)
	}
	if gone, err := hcsshim.GetContainers(hcsshim.ComputeSystemQuery{IDs: []string{id}}); err != nil || len(gone) != 0 {
		t.Errorf("container still listed after Terminate: %+v (%v)", gone, err)
	}
}
