export { type FaultMode, type FaultProxy, type FaultProxyStats, startFaultProxy } from "./fault-proxy.ts";
