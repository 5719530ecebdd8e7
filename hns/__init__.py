"""The Host Networking Service: networks, endpoints, load balancers, namespaces, routes,
policies, IPAM, the state store and errors with real HRESULTs."""
