// The whole system on one machine (`meshlb lab`, `meshlb chaos`): control
// plane, namespace LAN, controller and real speakers, and the client's probes.
// ClusterLab runs the speakers as processes; KubeletLab runs meshlb's image on
// real kubelets. Both are a Lab.
export { ClusterLab, type ClusterLabOptions } from './cluster-lab.ts';
export { acceptVip, createPool, createServices, LAB_NAMESPACE, type LabNetwork } from './services.ts';
export { KubeletLab, type KubeletLabOptions } from './kubelet-lab.ts';
export type { Lab, LabService } from './lab.ts';
export { HttpAgent, longestTcpGap, tcpAttempts, tcpOutage, type TcpAttempt } from './probes.ts';
