/**
 * @module index
 * The public surface of `reins`: formats, the decision engine and the enforcement pipeline.
 * Node-only pieces sit behind subpaths: `reins/loader` (policy files, hot reload, policy tests) and
 * `reins/sqlite` (the embedded audit log).
 */
export { GENESIS_HASH, linkRecord, type VerifyReport, verifyChain } from './audit/chain.js';
// the `signer` of SqliteAuditLog/PostgresAuditLog options, and the keys their verify() takes
export { type CheckpointKeys, CheckpointSigner } from './audit/checkpoint.js';
export * from './detect/index.js';
export { denyDecision, Harness, type HarnessOptions } from './harness/harness.js';
export {
  MemorySessionRegistry,
  type SessionRecord,
  type SessionRegistry,
} from './harness/session-registry.js';
export type {
  ApprovalHandler,
  ApprovalRequest,
  ApprovalVerdict,
  CallRequest,
  CallResult,
  OutputFilter,
  OutputFilterContext,
  PolicyHandle,
  ToolExecutor,
} from './harness/types.js';
export { InMemoryLabelIndex } from './memory/label-index.js';
export {
  MemoryGuard,
  type MemoryGuardSettings,
  type PurgeCriteria,
  type PurgeResult,
  readerOf,
  type SendTool,
} from './memory/memory-guard.js';
export { type CompilePolicyResult, compilePolicy, type PolicySource } from './policy/compile-policy.js';
export { BaselineLearner, type BaselinePeriod, learnBaselines } from './policy/monitor-baseline.js';
export { formatProblem, type PolicyProblem } from './policy/policy-problem.js';
export { type PolicySummary, PreparedPolicy } from './policy/prepared-policy.js';
export { type InputScreening, RedactionPolicy } from './policy/redaction-policy.js';
export { type Reservation, WindowCounters } from './policy/window-counters.js';
export * from './spec/audit-event.js';
export { callHash } from './spec/call-hash.js';
export * from './spec/dataflow-policy.js';
export type { DataflowView, SourceRecord, ValueOrigins } from './spec/dataflow-view.js';
export * from './spec/decision.js';
export { ReinsError, type ReinsErrorCode } from './spec/errors.js';
export * from './spec/memory-labels.js';
export * from './spec/monitor.js';
export * from './spec/policy-document.js';
export * from './spec/policy-test.js';
export * from './spec/tool-call.js';
export type { AppendOptions, AppendReceipt, AuditLog, CapturedContent } from './store/audit-log.js';
