/**
 * @module loader
 * `reins/loader`: policy files and directories on disk, hot reload, and the policy unit-test runner.
 */
export { loadPolicy, readPolicySources } from './policy-files.js';
export {
  findPolicyTestFiles,
  runPolicyTestFile,
  type TestCaseResult,
  type TestFileResult,
} from './policy-test-runner.js';
export { PolicyWatcher, type PolicyWatcherOptions, type ReloadEvent } from './policy-watcher.js';
