/**
 * @module console/monitor
 * The runtime monitor in the console (issue 19): the Monitor page (`#/monitor`), recent findings
 * across sessions newest first from `GET /v1/monitor/findings`, each linking to its session; and how a
 * finding shows on the session page's timeline — one line under the call's row, always visible, and
 * its full evidence (bound, baseline, the calls counted) in the row's details. Everything from the
 * record (rule ids, reasons, tool names) goes into the page as text through the app's `h()`.
 */

/** How much of the log the page reads: the API's default bound, said on the page. */
const SCAN = 10_000;

/** `3 calls in 5m, above 2`, or for a one-call signal what the baseline held against the bound. */
export function boundText(finding) {
  if (finding.windowMs !== undefined)
    return `${finding.observed} in ${windowText(finding.windowMs)}, above ${finding.threshold}`;
  if (finding.signal === 'new-tool') return 'never called in the baseline';
  return `${finding.baseline?.value ?? 0} in the baseline, below ${finding.threshold}`;
}

/** The baseline the finding compared with, in words; or that there was none yet. */
export function baselineText(finding) {
  const baseline = finding.baseline;
  if (!baseline) return 'no baseline yet: the rule’s floor (`above`) applied';
  // a windowed baseline's words hold its value (`busiest 1m of any session: 4 calls`), a one-call one's do not
  const words =
    finding.windowMs !== undefined ? baseline.describes : `${baseline.describes} ${baseline.value}`;
  return `${words} (learned from ${baseline.calls} calls, ${baseline.from} to ${baseline.to})`;
}

function windowText(ms) {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ])
    if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** One line per finding under a timeline row: rule, action, bound (null when the call raised none). */
export function stepFindingsLine(ui, step) {
  if (!step.monitor?.length) return null;
  return ui.h(
    'span',
    { class: 'step-monitor', testid: 'step-monitor' },
    step.monitor.map((finding) =>
      ui.h(
        'span',
        { class: 'finding-line', title: finding.message },
        ui.badge(finding.action),
        ` monitor rule ${finding.rule}: ${boundText(finding)}`,
      ),
    ),
  );
}

/** The findings of a call with their evidence, for the row's details. */
export function stepFindingsDetails(ui, step) {
  if (!step.monitor?.length) return null;
  // a flat list: the session page appends what it is handed one level deep
  return [
    ui.h('div', { class: 'muted' }, 'Runtime monitor'),
    ...step.monitor.map((finding) =>
      ui.h(
        'section',
        { class: 'finding', testid: 'step-finding' },
        ui.definitions([
          ['Rule', `${finding.rule} (${finding.signal})`],
          ['Action', ui.badge(finding.action)],
          ['Observed', boundText(finding)],
          ['Baseline', baselineText(finding)],
          [
            'Calls counted',
            finding.records.length > 0
              ? `${ui.count(finding.records.length, 'call')}: ${finding.records.join(', ')}`
              : undefined,
          ],
          ['Message', finding.message],
        ]),
      ),
    ),
  ];
}

/** `#/monitor`: recent findings, newest first, each with a button to its session. */
export async function viewMonitor(ui) {
  const { findings, scan } = await ui.api('GET', `/v1/monitor/findings?limit=200&scan=${SCAN}`);
  return [
    ui.h('h1', {}, 'Monitor'),
    ui.h(
      'p',
      { class: 'muted', testid: 'monitor-scan' },
      `Findings of the runtime monitor (the policy's \`monitor:\` rules), newest first. ${scanText(ui, scan)}`,
    ),
    ui.h(
      'div',
      { class: 'row' },
      ui.h('button', { type: 'button', testid: 'monitor-refresh', onclick: () => ui.render() }, 'Refresh'),
    ),
    findings.length === 0
      ? ui.h('p', { class: 'muted', testid: 'monitor-empty' }, 'No findings.')
      : ui.h(
          'table',
          { testid: 'monitor-findings' },
          ui.h(
            'tr',
            {},
            [
              'Time',
              'Session',
              'Agent',
              'Tool',
              'Rule',
              'Action',
              'Observed',
              'Baseline',
              'Calls counted',
            ].map((label) => ui.h('th', {}, label)),
          ),
          findings.map((item) => findingRow(ui, item)),
        ),
  ];
}

function scanText(ui, scan) {
  const read = `Read the last ${ui.count(scan.intents, 'call')}`;
  if (scan.stopped === 'end-of-log') return `${read}: the whole log.`;
  if (scan.stopped === 'finding-limit') return `${read}; older findings are not listed.`;
  return `${read} (the bound of this page); older calls were not read.`;
}

function findingRow(ui, item) {
  const { finding } = item;
  return ui.h(
    'tr',
    { testid: 'monitor-finding', title: finding.message },
    ui.h('td', { class: 'nowrap' }, ui.when(item.time)),
    ui.h(
      'td',
      {},
      ui.h(
        'button',
        {
          type: 'button',
          class: 'link',
          testid: 'finding-session',
          onclick: () => ui.go(`sessions/${encodeURIComponent(item.sessionId)}`),
        },
        item.sessionId,
      ),
    ),
    ui.h('td', {}, item.agentId),
    ui.h('td', {}, item.tool, ' ', ui.badge(item.effect)),
    ui.h('td', { testid: 'finding-rule' }, `${finding.rule} (${finding.signal})`),
    ui.h('td', { testid: 'finding-action' }, ui.badge(finding.action)),
    ui.h('td', { testid: 'finding-observed' }, boundText(finding)),
    ui.h('td', {}, baselineText(finding)),
    ui.h('td', {}, String(finding.records.length)),
  );
}
