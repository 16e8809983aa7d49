/**
 * @module adapters/index
 * `reins/remote`: what an agent needs to govern its own tools with Reins, whatever its framework — the
 * `ToolGovernor` interface, the one loop every adapter uses (`runGoverned`), the remote protocol's
 * client (`RemoteGovernor`) and the in-process mode (`LocalGovernor`, with `reins/in-process`).
 */

export type { CallState, CallStatus, OpenCallRequest, OutcomeReport } from '../spec/remote-call.js';
export {
  GovernorError,
  type RunGovernedOptions,
  refusalText,
  runGoverned,
  type ToolGovernor,
  type WaitOptions,
} from './governor.js';
export { LocalGovernor, type LocalGovernorOptions } from './local-governor.js';
export { RemoteGovernor, type RemoteGovernorOptions } from './remote-governor.js';
