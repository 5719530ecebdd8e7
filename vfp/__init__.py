"""The Virtual Filtering Platform: switch, ports, layers, groups, rules, actions, flow tables
and the packet pipeline. Knows nothing of HNS; only `vxlan` sits below it."""
