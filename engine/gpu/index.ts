/**
 * The optional `gpu` backend (gpu.js, loaded lazily by `initGpuBackend`): importing this module
 * does not load gpu.js.
 */
export {
  GpuBackend, createGpuBackend, initGpuBackend,
  type GpuBackendOptions, type GpuDeviceStats, type GpuJsMode, type GpuKernel, type GpuKernelSettings,
} from './backend.js';
export { GpuLstmGates, GpuLstmRunner, type GpuLstmRunnerOptions, type GpuLstmWeights } from './lstm-runner.js';
