/**
 * @module dataflow/instruction-text
 * Recognises text that addresses the agent itself with instructions, the signature of an indirect
 * prompt injection ("ignore your previous instructions", "before you can solve the task...", a
 * `<INFORMATION>` block, "### system message"). It is deliberately not the defence: provenance is.
 * It only withdraws a favour: an output the user pointed at (a file or page named in the request) is
 * normally taken as the user's input, unless it talks to the agent like this.
 *
 * Linear: plain alternations of literal words, no nested quantifiers, over attacker-controlled text.
 */

const PATTERNS: readonly RegExp[] = [
  /\bignore (?:all |any |the )?(?:your |my )?(?:previous|prior|above|earlier|preceding|former) (?:instructions|directions|prompts?|tasks?|rules)\b/i,
  /\b(?:disregard|forget) (?:all |any |the )?(?:your |my )?(?:previous|prior|above|earlier) (?:instructions|directions|prompts?|tasks?)\b/i,
  /<\/?\s*(?:information|instructions?|system|important|admin|assistant)\s*>/i,
  /\bbefore you (?:can )?(?:solve|do|complete|continue|proceed|finish|answer|start)\b/i,
  /\bafter you do that\b/i,
  /\bthis is an? (?:important|urgent|critical) (?:message|instruction|notice)\b/i,
  /\bto you,? (?:gpt|claude|llama|gemini|the (?:ai|assistant|model|agent)|ai|assistant)\b/i,
  /\b(?:new|updated|additional|important|urgent) instructions?\s*(?::|!|for you|from)/i,
  /#{2,}\s*\(?\s*system/i,
  /\b(?:system|developer) (?:message|prompt|instruction|override)\s*[:\])]/i,
  /\bimportant\s*!{2,}/i,
  /\b(?:you are|as) an? (?:ai|language model|llm|assistant)\b.{0,40}\b(?:must|should|need to)\b/i,
  /\bstrictly adhere to the following\b/i,
  /\b(?:instead|first),? (?:you )?(?:must|should|need to) (?:now )?(?:send|transfer|pay|forward|invite|post|visit|delete|email|e-mail|reserve|book|create)\b/i,
];

/** Does this text give the agent instructions (an injection signature)? */
export function looksLikeInstructions(text: string): boolean {
  if (text.length < 16) return false;
  for (const pattern of PATTERNS) if (pattern.test(text)) return true;
  return false;
}
