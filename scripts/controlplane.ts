// Entry of scripts/controlplane: start, print how to use it, wait for Ctrl-C.
import { startControlPlane } from '../lab/testbed/controlplane/index.ts';

const cp = await startControlPlane({
  onProgress: (l) => {
    console.error(`controlplane: ${l}`);
  },
});
console.log(`server:     ${cp.server}`);
console.log(`kubeconfig: ${cp.kubeconfigPath}`);
console.log(`try:        ${cp.binDir}/kubectl --kubeconfig ${cp.kubeconfigPath} get namespaces`);
console.error('controlplane: up; Ctrl-C stops it and removes its files');
process.once('SIGINT', () => {
  void cp.stop().then(() => process.exit(0));
});
setInterval(() => undefined, 1 << 30);
