/**
 * @module console/dashboard
 * The console's dashboard page (`#/dashboard`, issue 17): decisions over time by effect (stacked
 * bars), the most denied tools (horizontal bars), approval wait times (a histogram with p50/p90) and
 * the health of the upstreams, from `GET /v1/dashboard`, redrawn every REFRESH_MS while it is open.
 * Charts are inline SVG built with DOM calls (`createElementNS`, `setAttribute`, text nodes): tool
 * names come from agents and upstreams, so nothing here parses markup, and the page needs nothing the
 * console's CSP does not already allow (no inline style, no script from elsewhere). Every chart has an
 * accessible name saying its numbers, each bar a `<title>`, and a table of the same numbers.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';
export const REFRESH_MS = 15_000;
const WINDOWS = ['1h', '24h', '7d', '31d'];
const BUCKETS = { '1h': 60, '24h': 48, '7d': 56, '31d': 62 };
const EFFECTS = [
  { key: 'allow', label: 'allowed' },
  { key: 'deny', label: 'denied' },
  { key: 'approve', label: 'held' },
];

let refreshTimer;

/**
 * An SVG element. Attribute values are set one by one (never parsed as markup); children are nodes or
 * strings (strings become text nodes).
 */
function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (name === 'href' || name.startsWith('on')) throw new Error(`attribute ${name} is not allowed`);
    element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** `850 ms`, `4.2 s`, `3.5 min`, `2.1 h`. */
export function duration(ms) {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

function binLabel(upToMs, previous) {
  if (upToMs === null) return `≥ ${compact(previous)}`;
  return `< ${compact(upToMs)}`;
}

/** `5s`, `15m`, `4h`, `1d`: axis labels. */
function compact(ms) {
  if (ms >= 86_400_000) return `${ms / 86_400_000}d`;
  if (ms >= 3_600_000) return `${ms / 3_600_000}h`;
  if (ms >= 60_000) return `${ms / 60_000}m`;
  return `${ms / 1_000}s`;
}

function timeLabel(iso, windowMs) {
  const date = new Date(iso);
  return windowMs > 86_400_000
    ? date.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })
    : date.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

/** A chart's figure: heading, the SVG, and its numbers as a table one click away. */
function figure(ui, testid, title, chart, table, ...extra) {
  return ui.h(
    'section',
    { class: 'card chart', testid },
    ui.h('h2', {}, title),
    ...extra,
    chart,
    ui.h('details', {}, ui.h('summary', {}, 'Numbers'), table),
  );
}

function table(ui, headers, rows) {
  return ui.h(
    'table',
    {},
    ui.h(
      'thead',
      {},
      ui.h(
        'tr',
        {},
        headers.map((header) => ui.h('th', {}, header)),
      ),
    ),
    ui.h(
      'tbody',
      {},
      rows.length
        ? rows.map((row) =>
            ui.h(
              'tr',
              {},
              row.map((cell) => ui.h('td', {}, cell)),
            ),
          )
        : ui.h('tr', {}, ui.h('td', { colspan: headers.length }, 'none')),
    ),
  );
}

function decisionsChart(ui, data) {
  const { buckets, totals } = data.decisions;
  const width = 1060;
  const height = 200;
  const left = 40;
  const bottom = 24;
  const plotWidth = width - left - 8;
  const plotHeight = height - bottom - 10;
  const highest = Math.max(1, ...buckets.map((bucket) => bucket.allow + bucket.deny + bucket.approve));
  const step = plotWidth / buckets.length;
  const bars = buckets.map((bucket, index) => {
    let y = 10 + plotHeight;
    const rects = EFFECTS.map(({ key }) => {
      const barHeight = (bucket[key] / highest) * plotHeight;
      y -= barHeight;
      return svg('rect', {
        class: `effect-${key}`,
        'data-effect': key,
        x: (left + index * step + step * 0.1).toFixed(2),
        y: y.toFixed(2),
        width: Math.max(1, step * 0.8).toFixed(2),
        height: barHeight.toFixed(2),
      });
    });
    const said = EFFECTS.map(({ key, label }) => `${bucket[key]} ${label}`).join(', ');
    return svg(
      'g',
      {
        'data-bar': '',
        'data-start': bucket.start,
        'data-allow': bucket.allow,
        'data-deny': bucket.deny,
        'data-approve': bucket.approve,
      },
      svg('title', {}, `${ui.when(bucket.start)}: ${said}`),
      rects,
    );
  });
  const total = EFFECTS.map(({ key, label }) => `${totals[key]} ${label}`).join(', ');
  const chart = svg(
    'svg',
    {
      role: 'img',
      'aria-label': `Decisions over the last ${data.windowText}: ${total}`,
      viewBox: `0 0 ${width} ${height}`,
      class: 'chart-svg',
    },
    svg('line', { class: 'axis', x1: left, y1: 10 + plotHeight, x2: width - 8, y2: 10 + plotHeight }),
    svg('text', { class: 'tick', x: left - 6, y: 16, 'text-anchor': 'end' }, String(highest)),
    svg('text', { class: 'tick', x: left - 6, y: 10 + plotHeight, 'text-anchor': 'end' }, '0'),
    svg(
      'text',
      { class: 'tick', x: left, y: height - 6 },
      timeLabel(data.window.from, data.window.durationMs),
    ),
    svg('text', { class: 'tick', x: width - 8, y: height - 6, 'text-anchor': 'end' }, 'now'),
    bars,
  );
  const legend = ui.h(
    'p',
    { class: 'legend' },
    EFFECTS.map(({ key, label }) => ui.h('span', { class: `key effect-${key}` }, `${totals[key]} ${label}`)),
  );
  const rows = buckets
    .filter((bucket) => bucket.allow + bucket.deny + bucket.approve > 0)
    .map((bucket) => [ui.when(bucket.start), bucket.allow, bucket.deny, bucket.approve]);
  return figure(
    ui,
    'chart-decisions',
    'Decisions over time',
    chart,
    table(ui, ['bucket from', 'allowed', 'denied', 'held'], rows),
    legend,
  );
}

function deniedChart(ui, data) {
  const entries = data.topDenied;
  const width = 520;
  const row = 36;
  const height = Math.max(row, entries.length * row) + 4;
  const highest = Math.max(1, ...entries.map((entry) => entry.count));
  const bars = entries.map((entry, index) => {
    const tool = entry.tool;
    const barWidth = (entry.count / highest) * (width - 60);
    const y = index * row;
    return svg(
      'g',
      { 'data-bar': '', 'data-tool': tool, 'data-count': entry.count },
      svg('title', {}, `${tool}: ${ui.count(entry.count, 'denial')}`),
      svg('text', { class: 'label', x: 0, y: y + 12 }, tool),
      svg('rect', { class: 'effect-deny', x: 0, y: y + 17, width: barWidth.toFixed(2), height: 14 }),
      svg('text', { class: 'tick', x: (barWidth + 6).toFixed(2), y: y + 29 }, String(entry.count)),
    );
  });
  const said = entries.length
    ? entries.map((entry) => `${entry.tool} ${entry.count}`).join('; ')
    : 'no denials';
  const chart = entries.length
    ? svg(
        'svg',
        {
          role: 'img',
          'aria-label': `Top denied tools: ${said}`,
          viewBox: `0 0 ${width} ${height}`,
          class: 'chart-svg',
        },
        bars,
      )
    : ui.h('p', { class: 'muted' }, 'No call was denied in this window.');
  return figure(
    ui,
    'chart-denied',
    'Top denied tools',
    chart,
    table(
      ui,
      ['tool', 'denials'],
      entries.map((entry) => [entry.tool, entry.count]),
    ),
  );
}

function waitsChart(ui, data) {
  const waits = data.approvalWaits;
  const width = 520;
  const height = 200;
  const bottom = 24;
  const plotHeight = height - bottom - 16;
  const highest = Math.max(1, ...waits.histogram.map((bin) => bin.count));
  const step = width / waits.histogram.length;
  const bars = waits.histogram.map((bin, index) => {
    const label = binLabel(bin.upToMs, waits.histogram[index - 1]?.upToMs ?? 0);
    const barHeight = (bin.count / highest) * plotHeight;
    const x = index * step;
    return svg(
      'g',
      { 'data-bar': '', 'data-count': bin.count, 'data-up-to': bin.upToMs ?? 'inf' },
      svg('title', {}, `${label}: ${ui.count(bin.count, 'held call')}`),
      svg('rect', {
        class: 'effect-approve',
        x: (x + step * 0.15).toFixed(2),
        y: (16 + plotHeight - barHeight).toFixed(2),
        width: (step * 0.7).toFixed(2),
        height: barHeight.toFixed(2),
      }),
      bin.count
        ? svg(
            'text',
            {
              class: 'tick',
              x: (x + step / 2).toFixed(2),
              y: (12 + plotHeight - barHeight).toFixed(2),
              'text-anchor': 'middle',
            },
            String(bin.count),
          )
        : null,
      svg(
        'text',
        { class: 'tick', x: (x + step / 2).toFixed(2), y: height - 6, 'text-anchor': 'middle' },
        label,
      ),
    );
  });
  const summary = waits.count
    ? `${ui.count(waits.count, 'held call')} decided by a human · p50 ${duration(waits.p50Ms)} · p90 ${duration(waits.p90Ms)} · max ${duration(waits.maxMs)}`
    : 'No held call was decided by a human in this window.';
  const chart = svg(
    'svg',
    {
      role: 'img',
      'aria-label': `Approval wait times: ${summary}`,
      viewBox: `0 0 ${width} ${height}`,
      class: 'chart-svg',
    },
    svg('line', { class: 'axis', x1: 0, y1: 16 + plotHeight, x2: width, y2: 16 + plotHeight }),
    bars,
  );
  const rows = waits.histogram.map((bin, index) => [
    binLabel(bin.upToMs, waits.histogram[index - 1]?.upToMs ?? 0),
    bin.count,
  ]);
  return figure(
    ui,
    'chart-waits',
    'Approval wait times',
    chart,
    table(ui, ['wait', 'held calls'], rows),
    ui.h('p', { testid: 'waits-summary' }, summary),
  );
}

function upstreamHealth(ui, data) {
  const { reported, items } = data.upstreams;
  const body = !reported
    ? ui.h(
        'p',
        { class: 'muted' },
        'Upstream health is not reported by this process (a control plane without the gateway).',
      )
    : items.length === 0
      ? ui.h('p', { class: 'muted' }, 'This process has no upstreams.')
      : ui.h(
          'table',
          {},
          ui.h(
            'thead',
            {},
            ui.h(
              'tr',
              {},
              ['upstream', 'state', 'restarts', 'since', 'last error'].map((header) =>
                ui.h('th', {}, header),
              ),
            ),
          ),
          ui.h(
            'tbody',
            {},
            items.map((item) => {
              const row = ui.h(
                'tr',
                {},
                ui.h('td', {}, item.name),
                ui.h('td', {}, ui.badge(item.connected ? 'up' : 'down')),
                ui.h('td', {}, String(item.restarts)),
                ui.h('td', {}, ui.when(item.since)),
                ui.h('td', {}, item.lastError ?? ''),
              );
              row.dataset.upstream = item.name;
              row.dataset.connected = String(item.connected);
              return row;
            }),
          ),
        );
  return ui.h(
    'section',
    { class: 'card', testid: 'upstream-health' },
    ui.h('h2', {}, 'Upstream health'),
    body,
  );
}

/**
 * The dashboard page. `ui` is the console's toolkit (h, api, badge, count, when, go) and `isOpen`
 * tells whether the page is still shown when its refresh is due.
 */
export async function viewDashboard(ui, params, rerender, isOpen) {
  const windowText = WINDOWS.includes(params.get('window')) ? params.get('window') : '24h';
  const data = await ui.api('GET', `/v1/dashboard?window=${windowText}&buckets=${BUCKETS[windowText]}`);
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => {
    if (isOpen()) rerender();
  }, REFRESH_MS);
  const view = { ...data, windowText };
  const picker = ui.h(
    'div',
    { class: 'row', role: 'group', 'aria-label': 'Window' },
    WINDOWS.map((each) =>
      ui.h(
        'button',
        {
          type: 'button',
          class: each === windowText ? 'primary' : undefined,
          onclick: () => ui.go(`dashboard?window=${each}`),
        },
        `last ${each}`,
      ),
    ),
  );
  return [
    ui.h('h1', {}, 'Dashboard'),
    picker,
    ui.h(
      'p',
      { class: 'muted' },
      `${ui.when(data.window.from)} – ${ui.when(data.window.to)}; refreshed every ${REFRESH_MS / 1_000} s.`,
      data.scan.truncated ? ` Only the first ${data.scan.records} records of this window were counted.` : '',
    ),
    decisionsChart(ui, view),
    ui.h('div', { class: 'chart-pair' }, deniedChart(ui, view), waitsChart(ui, view)),
    upstreamHealth(ui, view),
  ];
}
