/**
 * @module policy/policy-problem
 * A problem found while loading a policy, with the location a person needs to fix it.
 */

export interface PolicyProblem {
  readonly file: string;
  /** 1-based; 0 when the problem concerns the whole file. */
  readonly line: number;
  /** 1-based; 0 when unknown. */
  readonly column: number;
  readonly message: string;
}

/** `file:line:column: message`, the form editors and CI logs link to. */
export function formatProblem(problem: PolicyProblem): string {
  const where = problem.line > 0 ? `${problem.file}:${problem.line}:${problem.column}` : problem.file;
  return `${where}: ${problem.message}`;
}
