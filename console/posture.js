/**
 * @module console/posture
 * The console's posture page (`#/posture`, issue 19): the score N/25 of the deployment and of each
 * agent over the five primitives from `GET /v1/posture` (docs/posture.md) — an overview table of every
 * scope's points per primitive, the fixes that gain the most points first, and per scope each
 * criterion with its evidence and, for a missing point, the fix with the points it gains and the
 * patches it makes. `?agent=<id>` scores only that agent. Everything from the report goes into the page
 * as text through the app's `h()`.
 */

const PRIMITIVES = ['execution', 'approval', 'provenance', 'logs', 'rollback'];

function scopeName(scope) {
  return scope.scope.kind === 'deployment' ? 'Deployment' : `Agent ${scope.scope.agentId}`;
}

/** `#/posture[?agent=<id>]`. */
export async function viewPosture(ui, params) {
  const agent = params.get('agent') ?? '';
  const report = await ui.api('GET', `/v1/posture${agent ? `?agent=${encodeURIComponent(agent)}` : ''}`);
  const scopes = [report.deployment, ...report.agents];
  return [
    ui.h('h1', {}, 'Posture'),
    ui.h(
      'p',
      { class: 'muted' },
      'The score over the five primitives of governance, five criteria of one point each, every point with its evidence (the configuration and the audit log). Scored now, ',
      ui.when(report.generatedAt),
      '.',
    ),
    overview(ui, scopes, agent),
    fixesCard(ui, report.deployment),
    scopes.map((scope, index) => scopeCard(ui, scope, index === 0)),
    ui.h(
      'div',
      { class: 'card muted' },
      ui.definitions([
        ['Configuration', report.sources.config],
        ['Policy', report.sources.policy.join(', ')],
        ['Audit log', report.sources.log],
      ]),
    ),
  ];
}

/** One row per scope: its score and its points per primitive. */
function overview(ui, scopes, agent) {
  return ui.h(
    'section',
    { class: 'card' },
    ui.h(
      'div',
      { class: 'row posture-head' },
      ui.h(
        'span',
        { class: 'posture-score', testid: 'posture-score' },
        `${scopes[0].score}/${scopes[0].max}`,
      ),
      ui.h('span', {}, 'for the deployment'),
      agent ? ui.h('button', { type: 'button', onclick: () => ui.go('posture') }, 'Show every agent') : null,
    ),
    ui.h(
      'table',
      { testid: 'posture-overview' },
      ui.h(
        'tr',
        {},
        ui.h('th', {}, 'Scope'),
        ui.h('th', {}, 'Score'),
        scopes[0].primitives.map((primitive) => ui.h('th', {}, primitive.title)),
      ),
      scopes.map((scope) =>
        ui.h(
          'tr',
          { testid: 'posture-scope' },
          ui.h(
            'td',
            {},
            scope.scope.kind === 'agent' && !agent
              ? ui.h(
                  'button',
                  {
                    type: 'button',
                    class: 'link',
                    onclick: () => ui.go(`posture?agent=${encodeURIComponent(scope.scope.agentId)}`),
                  },
                  scopeName(scope),
                )
              : scopeName(scope),
          ),
          ui.h('td', { testid: 'scope-score' }, `${scope.score}/${scope.max}`),
          PRIMITIVES.map((name) => {
            const primitive = scope.primitives.find((candidate) => candidate.primitive === name);
            const points = primitive?.points ?? 0;
            const of = primitive?.criteria.length ?? 5;
            return ui.h('td', { class: `points p${points}` }, `${points}/${of}`);
          }),
        ),
      ),
    ),
  );
}

/** The deployment's fixes, the ones that gain most first. */
function fixesCard(ui, deployment) {
  const fixes = deployment.primitives
    .flatMap((primitive) => primitive.criteria)
    .filter((criterion) => criterion.fix)
    .sort((a, b) => b.fix.gain - a.fix.gain || a.id.localeCompare(b.id));
  if (fixes.length === 0) return null;
  return ui.h(
    'section',
    { class: 'card' },
    ui.h('h2', {}, 'To gain points'),
    ui.h(
      'ol',
      { class: 'fixes', testid: 'posture-fixes' },
      fixes.map((criterion) =>
        ui.h(
          'li',
          { testid: 'posture-fix' },
          ui.h('strong', { class: 'gain' }, `+${criterion.fix.gain}`),
          ' ',
          criterion.fix.text,
          ui.h('span', { class: 'muted' }, ` (${criterion.id})`),
        ),
      ),
    ),
  );
}

/** One scope: each primitive, each criterion with its evidence and fix. Only the first starts open. */
function scopeCard(ui, scope, open) {
  const details = ui.h(
    'details',
    { class: 'card posture-scope', testid: 'posture-detail' },
    ui.h('summary', {}, ui.h('strong', {}, `${scopeName(scope)}: ${scope.score}/${scope.max}`)),
    // h() flattens its children one level deep
    scope.primitives.flatMap((primitive) => [
      ui.h('h2', {}, `${primitive.title} ${primitive.points}/${primitive.criteria.length}`),
      ui.h(
        'ul',
        { class: 'criteria' },
        primitive.criteria.map((criterion) => criterionItem(ui, criterion)),
      ),
    ]),
  );
  details.open = open;
  return details;
}

function criterionItem(ui, criterion) {
  const earned = criterion.points === 1;
  return ui.h(
    'li',
    { class: `criterion ${earned ? 'earned' : 'missing'}`, testid: 'posture-criterion', title: criterion.id },
    ui.h(
      'div',
      { class: 'row' },
      ui.badge(earned ? 'earned' : 'missing'),
      ui.h('strong', {}, criterion.title),
      ui.h('span', { class: 'muted' }, criterion.id),
    ),
    ui.h(
      'ul',
      { class: 'evidence' },
      criterion.evidence.map((line) => ui.h('li', {}, line)),
    ),
    criterion.fix
      ? ui.h(
          'div',
          { class: 'fix', testid: 'criterion-fix' },
          ui.h('strong', { class: 'gain' }, `Fix (+${criterion.fix.gain}): `),
          criterion.fix.text,
          criterion.fix.patches.length > 0
            ? ui.h(
                'details',
                {},
                ui.h(
                  'summary',
                  {},
                  `The change (${ui.count(criterion.fix.patches.length, 'patch', 'patches')})`,
                ),
                ui.h('pre', {}, JSON.stringify(criterion.fix.patches, null, 2)),
              )
            : null,
        )
      : null,
  );
}
