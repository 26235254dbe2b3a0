// The whole system on one machine (`meshlb lab`, `meshlb chaos`): control
// plane, namespace LAN, controller and real speakers, and the client's probes.
export { ClusterLab, LAB_NAMESPACE, type ClusterLabOptions, type LabService } from './cluster-lab.ts';
export { HttpAgent, longestTcpGap, tcpAttempts, type TcpAttempt } from './probes.ts';
