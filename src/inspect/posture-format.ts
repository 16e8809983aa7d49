/**
 * @module inspect/posture-format
 * The posture report as people read it (issue 19): plain text for a terminal and Markdown for a
 * ticket or a review, each scope's score as `N/25`, then each primitive's points, each criterion's
 * evidence and, for a missing point, the fix with what it gains. JSON is the report object itself.
 */
import type { CriterionResult, PostureReport, ScopeScore } from './posture-model.js';

function scopeName(scope: ScopeScore): string {
  return scope.scope.kind === 'deployment' ? 'deployment' : `agent ${scope.scope.agentId}`;
}

function gainText(result: CriterionResult): string {
  const fix = result.fix;
  if (fix === undefined) return '';
  const points = `${fix.gain >= 0 ? '+' : ''}${fix.gain} point${Math.abs(fix.gain) === 1 ? '' : 's'}`;
  return fix.patches.length === 0 ? `${points}, once done` : points;
}

export function formatPostureText(report: PostureReport): string {
  const lines = [
    `posture of ${report.sources.config} (policy: ${report.sources.policy.join(', ')}; log: ${report.sources.log})`,
  ];
  for (const scope of [report.deployment, ...report.agents]) {
    lines.push('', `${scopeName(scope)}: ${scope.score}/${scope.max}`);
    for (const primitive of scope.primitives) {
      lines.push(`  ${primitive.title}: ${primitive.points}/${primitive.criteria.length}`);
      for (const result of primitive.criteria) {
        lines.push(`    [${result.points === 1 ? 'x' : ' '}] ${result.id}: ${result.title}`);
        for (const fact of result.evidence) lines.push(`        ${fact}`);
        if (result.fix) lines.push(`        fix (${gainText(result)}): ${result.fix.text}`);
      }
    }
  }
  return lines.join('\n');
}

export function formatPostureMarkdown(report: PostureReport): string {
  const lines = [
    '# Reins posture',
    '',
    `Configuration \`${report.sources.config}\`, policy ${report.sources.policy.map((file) => `\`${file}\``).join(', ')}, log: ${report.sources.log}. Generated ${report.generatedAt}.`,
  ];
  for (const scope of [report.deployment, ...report.agents]) {
    lines.push('', `## ${scopeName(scope)}: ${scope.score}/${scope.max}`, '');
    lines.push('| Primitive | Points |', '| --- | --- |');
    for (const primitive of scope.primitives)
      lines.push(`| ${primitive.title} | ${primitive.points}/${primitive.criteria.length} |`);
    for (const primitive of scope.primitives) {
      lines.push('', `### ${primitive.title} (${primitive.points}/${primitive.criteria.length})`, '');
      for (const result of primitive.criteria) {
        lines.push(`- ${result.points === 1 ? '✅' : '❌'} **${result.id}** — ${result.title}`);
        for (const fact of result.evidence) lines.push(`  - ${fact}`);
        if (result.fix) lines.push(`  - **Fix (${gainText(result)})**: ${result.fix.text}`);
      }
    }
  }
  return lines.join('\n');
}
