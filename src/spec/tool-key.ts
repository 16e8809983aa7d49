/**
 * @module spec/tool-key
 * A tool's key, `server/name`: what the audit records' `tool` index field holds and the runtime
 * monitor counts tools by. A module of its own, without schemas, so that compiling a policy (whose
 * monitor rules use it) does not build the audit records' schemas.
 */

/** `server/name`, as the `tool` index field holds it. */
export function toolKeyOf(tool: { readonly server: string; readonly name: string }): string {
  return `${tool.server}/${tool.name}`;
}
