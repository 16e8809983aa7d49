/**
 * @module spec/dataflow-view
 * What a decision may know about the data a session has seen: labels it accumulated, and for any
 * value, where it was seen (the user's declared request, a trusted structured field of an output,
 * untrusted free text), naming the call whose output it came from. Read-only; `dataflow/` keeps it.
 */

/** The call whose output a value came from. */
export interface SourceRecord {
  /** Decision id of the call (its audit records are `<id>/intent` and `<id>/outcome`). */
  readonly decisionId: string;
  /** `server/name` of the tool. */
  readonly tool: string;
  /** JSON Pointer of the field of the output the value sat in (provenance links). */
  readonly field?: string;
  /** The session of the call (set by session projections; tells a delegation hop). */
  readonly sessionId?: string;
}

export interface ValueOrigins {
  /** The user's own request (declared trusted input) contains the value. */
  readonly user: boolean;
  /** First trusted structured field it was seen in. */
  readonly structured: SourceRecord | undefined;
  /** First untrusted free text it was seen in (not counting designated sources). */
  readonly untrusted: SourceRecord | undefined;
  /**
   * First untrusted text it was seen in that the user pointed at: the output of a call whose arguments
   * all come from the user's request (the file or page they named), when that text does not address
   * the agent with instructions.
   */
  readonly designated: SourceRecord | undefined;
  /**
   * First output of a tool the catalogue says nothing about that held the value (provenance links
   * only: flow rules do not consult it, so an undescribed tool's output neither clears nor taints).
   */
  readonly undeclared?: SourceRecord | undefined;
  /** With `user`: the decision id of the call whose intent record carries the request, when known. */
  readonly userDeclaredBy?: string | undefined;
}

export interface DataflowView {
  /** Labels the session accumulated (`untrusted`, `tenant:<x>`, `confidential`, ...). */
  readonly labels: readonly string[];
  /**
   * False once an output could not be indexed: the index may then miss untrusted values, so flow
   * rules treat every value they cannot clear as a violation (fail closed).
   */
  readonly complete: boolean;
  /** Whether the user's request was declared (replay, SDK adapters); in gateway mode it is not. */
  readonly hasUserInput: boolean;
  /**
   * Origins of a normalised value. `phrase`: also look for it as a whole phrase inside untrusted text
   * and the user's request (for names that no pattern extracts, like a user or hotel name).
   */
  origins(value: string, phrase: boolean): ValueOrigins;
  /**
   * Characters one phrase search scans (untrusted text and the user's request): what a caller that
   * bounds its work per call counts (dataflow/argument-links). Absent: not known.
   */
  readonly phraseSearchChars?: number;
  /** The tenants whose outputs contained this normalised value, each with the first source. */
  tenantsOf(value: string): ReadonlyMap<string, SourceRecord> | undefined;
}
