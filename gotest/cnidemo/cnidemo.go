//go:build windows

// Package cnidemo is a small program written the way a Windows CNI plugin or a node agent
// is: it reaches HNS through hcsshim only. It is what hns-emulator's users test with
// `GOOS=windows go test` under Wine (docs/go-compat.md).
//
// EnsureOverlayNetwork builds the network the way flannel's vxlan backend does
// (flannel pkg/backend/vxlan/device_windows.go: an Overlay network, EnableNonPersistent,
// a VSID subnet policy, a NetAdapterName policy, then a HostRoute policy added);
// Add is a CNI ADD (endpoint with ACL and OutBoundNAT policies, a namespace holding it,
// a load balancer in front of it); Del undoes it.
package cnidemo

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/Microsoft/hcsshim"
	"github.com/Microsoft/hcsshim/hcn"
)

// Pod is what Add made, by id.
type Pod struct {
	EndpointID     string
	NamespaceID    string
	LoadBalancerID string
}

// PodSpec is one CNI ADD's input.
type PodSpec struct {
	Name          string
	ServiceVIP    string
	ServicePort   uint16
	ContainerPort uint16
	// NATExceptions are the destinations (cluster and service CIDRs) OutBoundNAT leaves alone.
	NATExceptions []string
}

// EnsureOverlayNetwork returns the Overlay network `name`, creating it when it is missing
// or has another prefix (as flannel does).
func EnsureOverlayNetwork(name, prefix, gateway string, vni uint32, adapter string) (*hcn.HostComputeNetwork, error) {
	existing, err := hcn.GetNetworkByName(name)
	if err == nil && existing.Type == hcn.Overlay && len(existing.Ipams) > 0 &&
		len(existing.Ipams[0].Subnets) > 0 && existing.Ipams[0].Subnets[0].IpAddressPrefix == prefix {
		return existing, nil
	}
	if err == nil {
		if err := existing.Delete(); err != nil {
			return nil, fmt.Errorf("delete stale network %s: %w", name, err)
		}
	} else if !hcn.IsNotFoundError(err) {
		return nil, fmt.Errorf("look up network %s: %w", name, err)
	}
	vsid, err := json.Marshal(hcn.VsidPolicySetting{IsolationId: vni})
	if err != nil {
		return nil, err
	}
	subnetPolicy, err := json.Marshal(hcn.SubnetPolicy{Type: hcn.VSID, Settings: vsid})
	if err != nil {
		return nil, err
	}
	adapterName, err := json.Marshal(map[string]string{"NetworkAdapterName": adapter})
	if err != nil {
		return nil, err
	}
	network := &hcn.HostComputeNetwork{
		Type: hcn.Overlay,
		Name: name,
		Ipams: []hcn.Ipam{{
			Type: "Static",
			Subnets: []hcn.Subnet{{
				IpAddressPrefix: prefix,
				Policies:        []json.RawMessage{subnetPolicy},
				Routes:          []hcn.Route{{NextHop: gateway, DestinationPrefix: "0.0.0.0/0"}},
			}},
		}},
		Policies:      []hcn.NetworkPolicy{{Type: hcn.NetAdapterName, Settings: adapterName}},
		Flags:         hcn.EnableNonPersistent,
		SchemaVersion: hcn.SchemaVersion{Major: 2, Minor: 0},
	}
	created, err := network.Create()
	if err != nil {
		return nil, fmt.Errorf("create network %s: %w", name, err)
	}
	hostRoute := hcn.PolicyNetworkRequest{Policies: []hcn.NetworkPolicy{{Type: hcn.HostRoute, Settings: []byte("{}")}}}
	if err := created.AddPolicy(hostRoute); err != nil {
		return nil, fmt.Errorf("add HostRoute to %s: %w", name, err)
	}
	return hcn.GetNetworkByID(created.Id)
}

func policy(kind hcn.EndpointPolicyType, settings interface{}) (hcn.EndpointPolicy, error) {
	raw, err := json.Marshal(settings)
	return hcn.EndpointPolicy{Type: kind, Settings: raw}, err
}

// Add creates the pod's endpoint, namespace and service load balancer.
func Add(network *hcn.HostComputeNetwork, spec PodSpec) (pod *Pod, err error) {
	pod = &Pod{}
	defer func() {
		if err != nil {
			_ = Del(pod) // roll back what was made, as a CNI plugin must
			pod = nil
		}
	}()
	nat, err := policy(hcn.OutBoundNAT, hcn.OutboundNatPolicySetting{Exceptions: spec.NATExceptions})
	if err != nil {
		return pod, err
	}
	var policies []hcn.EndpointPolicy
	policies = append(policies, nat)
	for _, dir := range []hcn.DirectionType{hcn.DirectionTypeIn, hcn.DirectionTypeOut} {
		acl, err := policy(hcn.ACL, hcn.AclPolicySetting{
			Protocols: "6", Action: hcn.ActionTypeAllow, Direction: dir,
			RuleType: hcn.RuleTypeSwitch, Priority: 200,
		})
		if err != nil {
			return pod, err
		}
		policies = append(policies, acl)
	}
	endpoint := &hcn.HostComputeEndpoint{
		Name:               network.Name + "_" + spec.Name,
		HostComputeNetwork: network.Id,
		Policies:           policies,
		SchemaVersion:      hcn.SchemaVersion{Major: 2, Minor: 0},
	}
	made, err := network.CreateEndpoint(endpoint)
	if err != nil {
		return pod, fmt.Errorf("create endpoint: %w", err)
	}
	pod.EndpointID = made.Id

	namespace, err := hcn.NewNamespace(hcn.NamespaceTypeHostDefault).Create()
	if err != nil {
		return pod, fmt.Errorf("create namespace: %w", err)
	}
	pod.NamespaceID = namespace.Id
	if err := hcn.AddNamespaceEndpoint(namespace.Id, made.Id); err != nil {
		return pod, fmt.Errorf("add endpoint to namespace: %w", err)
	}

	lb, err := hcn.AddLoadBalancer([]hcn.HostComputeEndpoint{*made}, hcn.LoadBalancerFlagsNone,
		hcn.LoadBalancerPortMappingFlagsNone, "", []string{spec.ServiceVIP}, 6,
		spec.ContainerPort, spec.ServicePort)
	if err != nil {
		return pod, fmt.Errorf("create load balancer: %w", err)
	}
	pod.LoadBalancerID = lb.Id
	return pod, nil
}

// Del removes what Add made; objects already gone are not an error (CNI DEL is idempotent).
func Del(pod *Pod) error {
	var first error
	keep := func(err error) {
		if err != nil && !hcn.IsNotFoundError(err) && first == nil {
			first = err
		}
	}
	if pod.LoadBalancerID != "" {
		if lb, err := hcn.GetLoadBalancerByID(pod.LoadBalancerID); err == nil {
			keep(lb.Delete())
		} else {
			keep(err)
		}
	}
	if pod.NamespaceID != "" && pod.EndpointID != "" {
		// HcnModifyNamespace of a namespace that is gone fails with a bare ERROR_NOT_FOUND,
		// which hcn.IsNotFoundError does not recognise: look the namespace up first.
		if ids, err := hcn.GetNamespaceEndpointIds(pod.NamespaceID); err == nil {
			for _, id := range ids {
				if strings.EqualFold(id, pod.EndpointID) {
					keep(hcn.RemoveNamespaceEndpoint(pod.NamespaceID, pod.EndpointID))
				}
			}
		} else {
			keep(err)
		}
	}
	if pod.EndpointID != "" {
		if ep, err := hcn.GetEndpointByID(pod.EndpointID); err == nil {
			keep(ep.Delete())
		} else {
			keep(err)
		}
	}
	if pod.NamespaceID != "" {
		if ns, err := hcn.GetNamespaceByID(pod.NamespaceID); err == nil {
			keep(ns.Delete())
		} else {
			keep(err)
		}
	}
	return first
}

// AddV1 is the V1 flavour of a CNI ADD (Docker's and the V1 CNI plugins' path): an HNS
// endpoint made with HNSCall, then hot-attached to the running container through HCS.
func AddV1(network *hcn.HostComputeNetwork, containerID, name string) (*hcsshim.HNSEndpoint, error) {
	endpoint, err := (&hcsshim.HNSEndpoint{Name: network.Name + "_" + name, VirtualNetwork: network.Id}).Create()
	if err != nil {
		return nil, fmt.Errorf("create V1 endpoint: %w", err)
	}
	if err := hcsshim.HotAttachEndpoint(containerID, endpoint.Id); err != nil {
		_, _ = endpoint.Delete()
		return nil, fmt.Errorf("hot-attach to %s: %w", containerID, err)
	}
	return endpoint, nil
}

// DelV1 detaches the endpoint from the container (when it is attached) and deletes it.
func DelV1(containerID, endpointID string) error {
	if err := hcsshim.HotDetachEndpoint(containerID, endpointID); err != nil &&
		err != hcsshim.ErrComputeSystemDoesNotExist {
		return fmt.Errorf("hot-detach from %s: %w", containerID, err)
	}
	endpoint, err := hcsshim.GetHNSEndpointByID(endpointID)
	if err != nil {
		return err
	}
	_, err = endpoint.Delete()
	return err
}
