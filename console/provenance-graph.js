/**
 * @module console/provenance-graph
 * The session page's provenance graph (issue 18): which document drove which action, in one picture.
 * One node per call in time order (tool, decision and outcome, short decision id), a node for the
 * user's request where a call declared one, an external node for a source in another session (a
 * delegation hop) or not in this timeline; an edge from the call whose output held a value to the call
 * whose argument it fed, labelled `arg ← field` inside the receiving node. Untrusted and designated
 * origins are red or orange, dashed, and say so in words; the model's own values are a small marker
 * on their node. Hovering or focusing a node or an edge shows its details beside the graph; clicking
 * (or Enter) keeps them there and highlights the links of a call, across the page's live refreshes.
 *
 * Everything drawn is agent-supplied text (tool names, argument and field names, the request): it is
 * put into the page with DOM calls only (`createElementNS`, `setAttribute`, text nodes), never parsed
 * as markup, and colours are classes in app.css (the console's CSP allows no inline style).
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

/** How far each origin is trusted, in words (spec/provenance). */
const TRUST = {
  user: "the user's declared request",
  trusted: 'a structured or catalogue-trusted field of the output',
  untrusted: 'text others wrote (an e-mail body, a web page, a review)',
  designated: 'untrusted text the user pointed at (the file or page they named)',
  undeclared: 'the output of a tool the policy catalogue says nothing about',
  none: "seen nowhere: the model's own value",
};
/** Origins an incident responder looks at first. */
const WARNING = new Set(['untrusted', 'designated']);
const EFFECT = { allow: 'allowed', deny: 'denied', approve: 'held' };

// geometry (px): a column of nodes, the edges routed in lanes to its right
const NODE_X = 12;
const NODE_WIDTH = 440;
const HEAD = 42;
const ROW = 18;
const GAP = 14;
const LANE_GAP = 12;
const MAX_LANES = 24;

/** What the page remembers across its live refreshes (every 2 s): selection, scroll, open parts. */
const memory = { sessionId: undefined, selected: undefined, scrollTop: 0, scrollLeft: 0, open: new Set() };

/** An SVG element; attribute values are set one by one, children are nodes or strings (text nodes). */
function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'href' || name.startsWith('on')) throw new Error(`attribute ${name} is not allowed`);
    element.setAttribute(name, String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** At most `max` characters, the middle elided (the ends of a pointer say the most). */
function clip(text, max) {
  const value = String(text ?? '');
  if (value.length <= max) return value;
  const head = Math.ceil((max - 1) / 2);
  return `${value.slice(0, head)}…${value.slice(value.length - (max - 1 - head))}`;
}

const short = (decisionId) => String(decisionId ?? '').slice(0, 8);
/** `/to` → `to`: an argument's pointer as a name (the whole arguments: `(arguments)`). */
const argName = (pointer) => (pointer === '' ? '(arguments)' : pointer.replace(/^\//, ''));

// ---------- the model: nodes and edges from the timeline ----------

/**
 * Nodes in drawing order (external sources first, then requests and calls in time order) and edges,
 * one per (source, receiving call, argument, field, trust): identifier matches of the same value merge.
 */
function buildGraph(steps) {
  const byKey = new Map();
  const timeline = [];
  const external = [];
  for (const [index, step] of steps.entries()) {
    const number = index + 1;
    const request = step.provenance?.request;
    if (request) {
      const node = {
        key: `request:${step.decisionId}`,
        kind: 'request',
        decisionId: step.decisionId,
        number,
      };
      timeline.push(Object.assign(node, { request, outgoing: [] }));
      byKey.set(node.key, node);
    }
    const node = { key: `call:${step.decisionId}`, kind: 'call', decisionId: step.decisionId, number, step };
    timeline.push(Object.assign(node, { incoming: [], outgoing: [], own: [] }));
    byKey.set(node.key, node);
  }
  const edges = new Map();
  for (const step of steps) {
    const target = byKey.get(`call:${step.decisionId}`);
    for (const source of step.provenance?.sources ?? []) {
      if (source.trust === 'none') {
        if (!target.own.includes(source.arg)) target.own.push(source.arg);
        continue;
      }
      const from = sourceNode(source, byKey, external);
      const key = ['edge', from.key, target.key, source.arg, source.field ?? '', source.trust].join('|');
      let edge = edges.get(key);
      if (edge === undefined) {
        edge = { key, from, to: target, source, matches: [] };
        edges.set(key, edge);
        target.incoming.push(edge);
        from.outgoing.push(edge);
      }
      if (!edge.matches.includes(source.match)) edge.matches.push(source.match);
    }
  }
  return { nodes: [...external, ...timeline], edges: [...edges.values()] };
}

/** The node a source points at, made on first use when it is outside this timeline's calls. */
function sourceNode(source, byKey, external) {
  let key;
  if (source.session !== undefined) key = `external:${source.session}|${source.from ?? ''}`;
  else if (source.trust === 'user') {
    if (source.from !== undefined && byKey.has(`request:${source.from}`))
      return byKey.get(`request:${source.from}`);
    key = `request-unrecorded:${source.from ?? ''}`;
  } else if (source.from !== undefined && byKey.has(`call:${source.from}`))
    return byKey.get(`call:${source.from}`);
  else key = `external:|${source.from ?? ''}`;
  let node = byKey.get(key);
  if (node === undefined) {
    node = {
      key,
      kind: 'external',
      decisionId: source.from,
      tool: source.tool,
      session: source.session,
      user: source.trust === 'user',
      outgoing: [],
    };
    byKey.set(key, node);
    external.push(node);
  }
  return node;
}

// ---------- layout ----------

function notesOf(node) {
  const provenance = node.step.provenance;
  if (!node.step.intent) return ['no intent record: nothing known of its arguments'];
  if (!provenance) return ['no argument provenance on record (an older record)'];
  return [
    provenance.truncated ? 'more values than its record lists' : '',
    provenance.incomplete ? "data flow incomplete: a model's own value may hide a source" : '',
  ].filter(Boolean);
}

function layout(graph) {
  let y = 10;
  for (const node of graph.nodes) {
    node.y = y;
    if (node.kind === 'call') {
      node.notes = notesOf(node);
      node.height = HEAD + (node.incoming.length + (node.own.length ? 1 : 0) + node.notes.length) * ROW + 6;
      node.incoming.forEach((edge, index) => {
        edge.rowY = node.y + HEAD + index * ROW;
      });
    } else node.height = HEAD + 4;
    y += node.height + GAP;
  }
  for (const edge of graph.edges) {
    edge.y1 = edge.from.y + 17;
    edge.y2 = edge.rowY + ROW / 2 - 1;
  }
  // one lane per (source, trust), its edges sharing the vertical run; lanes reused once free
  const buses = new Map();
  for (const edge of graph.edges) {
    const key = `${edge.from.key}|${edge.source.trust}`;
    const bus = buses.get(key) ?? { top: edge.y1, bottom: edge.y1, edges: [] };
    bus.top = Math.min(bus.top, edge.y1, edge.y2);
    bus.bottom = Math.max(bus.bottom, edge.y1, edge.y2);
    bus.edges.push(edge);
    buses.set(key, bus);
  }
  const ends = [];
  for (const bus of [...buses.values()].sort((a, b) => a.top - b.top || a.bottom - b.bottom)) {
    let lane = ends.findIndex((end) => end < bus.top - 3);
    if (lane === -1) lane = ends.length < MAX_LANES ? ends.length : ends.indexOf(Math.min(...ends)); // crowded: share
    ends[lane] = bus.bottom;
    for (const edge of bus.edges) edge.laneX = NODE_X + NODE_WIDTH + 22 + lane * LANE_GAP;
  }
  return { width: NODE_X + NODE_WIDTH + 22 + Math.max(ends.length, 1) * LANE_GAP + 16, height: y };
}

// ---------- drawing ----------

function callLabel(node) {
  return `#${node.number} ${node.step.tool}`;
}

function sourceLabel(node) {
  if (node.kind === 'call') return callLabel(node);
  if (node.kind === 'request') return `the user's request (declared with #${node.number})`;
  if (node.session !== undefined)
    return `${node.user ? "the user's request" : (node.tool ?? 'a call')} in session ${node.session}`;
  return node.user
    ? "the user's request (not on record here)"
    : `${node.tool ?? 'a call'} not in this timeline`;
}

function edgeSentence(edge) {
  const { source } = edge;
  const field = source.field !== undefined ? ` ${source.field}` : '';
  return `${callLabel(edge.to)}: ${argName(source.arg)} ← ${sourceLabel(edge.from)}${field} (${source.trust})`;
}

function nodeSentence(node) {
  if (node.kind === 'request') return `The user's request: ${node.request.text}`;
  if (node.kind === 'external') return `Source outside this timeline: ${sourceLabel(node)}`;
  const intent = node.step.intent?.event;
  const outcome = node.step.outcome?.event;
  const warned = node.incoming.some((edge) => WARNING.has(edge.source.trust));
  return [
    `${callLabel(node)}, ${EFFECT[intent?.decision.effect] ?? 'no decision'}, ${outcome?.outcome ?? 'no outcome'}`,
    `${node.incoming.length} incoming link${node.incoming.length === 1 ? '' : 's'}`,
    warned ? 'fed by untrusted text' : '',
  ]
    .filter(Boolean)
    .join('; ');
}

/** A node's two header lines: a title and a note on the right, then a subtitle. */
function header(node, title, right, sub, subClass = 'pg-sub') {
  const x = NODE_X;
  const { y } = node;
  return [
    svg('text', { class: 'pg-title', x: x + 14, y: y + 17 }, title),
    svg('text', { class: 'pg-id', x: x + NODE_WIDTH - 8, y: y + 17, 'text-anchor': 'end' }, right),
    svg('text', { class: subClass, x: x + 14, y: y + 34 }, sub),
  ];
}

/** A call: effect stripe, tool and decision, the untrusted warning, its model's own values and notes. */
function callParts(node, data, classes) {
  const x = NODE_X;
  const intent = node.step.intent?.event;
  const outcome = node.step.outcome?.event;
  const effect = intent?.decision.effect ?? '';
  const warned = node.incoming.some((edge) => WARNING.has(edge.source.trust));
  if (warned) classes.push('pg-warned');
  Object.assign(data, {
    'data-number': node.number,
    'data-tool': node.step.tool,
    'data-effect': effect,
    'data-outcome': outcome?.outcome ?? '',
    'data-own': node.own.length,
  });
  const parts = [
    svg('rect', {
      class: `pg-stripe pg-effect-${effect || 'none'}`,
      x,
      y: node.y,
      width: 5,
      height: node.height,
    }),
    header(
      node,
      clip(callLabel(node), 46),
      short(node.decisionId),
      `${EFFECT[effect] ?? 'no decision'} → ${outcome?.outcome ?? 'in progress'}`,
    ),
    warned
      ? svg(
          'text',
          { class: 'pg-warning-tag', x: x + NODE_WIDTH - 8, y: node.y + 34, 'text-anchor': 'end' },
          '⚠ fed by untrusted text',
        )
      : null,
  ];
  let rowY = node.y + HEAD + node.incoming.length * ROW; // the incoming rows are the edges' labels
  if (node.own.length) {
    const own = node.own.map(argName).join(', ');
    parts.push(
      svg(
        'g',
        { class: 'pg-own', 'data-own-args': node.own.join(' ') },
        svg('title', {}, `The model's own values (seen in no output, no request): ${own}`),
        svg('circle', { class: 'pg-own-marker', cx: x + 18, cy: rowY + 8, r: 3.5 }),
        svg('text', { class: 'pg-own-text', x: x + 28, y: rowY + 12 }, clip(`model's own: ${own}`, 58)),
      ),
    );
    rowY += ROW;
  }
  for (const note of node.notes) {
    parts.push(svg('text', { class: 'pg-note', x: x + 14, y: rowY + 12 }, note));
    rowY += ROW;
  }
  return parts;
}

function requestParts(node) {
  const declared =
    node.request.via === 'session'
      ? `declared for the session, on #${node.number}`
      : `declared with #${node.number}`;
  return header(node, "User's request", declared, `“${clip(node.request.text, 60)}”`, 'pg-quote');
}

function externalParts(node, data) {
  if (node.session !== undefined) data['data-session'] = node.session;
  return header(
    node,
    clip(node.session !== undefined ? `In session ${node.session}` : 'Not in this timeline', 50),
    short(node.decisionId),
    clip(node.user ? "the user's request" : (node.tool ?? 'an earlier call'), 56),
  );
}

function drawNode(node) {
  const classes = ['pg-node', `pg-${node.kind}`];
  const data = { 'data-node': '', 'data-kind': node.kind, 'data-decision-id': node.decisionId ?? '' };
  const parts =
    node.kind === 'call'
      ? callParts(node, data, classes)
      : node.kind === 'request'
        ? requestParts(node)
        : externalParts(node, data);
  return svg(
    'g',
    { class: classes.join(' '), ...interactive(node.key, nodeSentence(node)), ...data },
    svg('title', {}, nodeSentence(node)),
    svg('rect', { class: 'pg-box', x: NODE_X, y: node.y, width: NODE_WIDTH, height: node.height, rx: 5 }),
    parts,
  );
}

function interactive(key, label) {
  return { tabindex: 0, role: 'button', 'aria-label': label, 'data-key': key };
}

function drawEdge(edge) {
  const { source } = edge;
  const right = NODE_X + NODE_WIDTH;
  const path = `M ${right} ${edge.y1} H ${edge.laneX} V ${edge.y2} H ${right + 3}`;
  const fieldText = source.field ?? (source.trust === 'user' ? 'request' : '');
  const from =
    edge.from.kind === 'call' ? `#${edge.from.number}` : edge.from.kind === 'request' ? 'request' : 'outside';
  const warn = WARNING.has(source.trust);
  return svg(
    'g',
    {
      class: `pg-edge pg-trust-${source.trust}`,
      ...interactive(edge.key, edgeSentence(edge)),
      'data-edge': '',
      'data-from': edge.from.decisionId ?? '',
      'data-from-kind': edge.from.kind,
      'data-to': edge.to.decisionId,
      'data-arg': source.arg,
      'data-field': source.field ?? '',
      'data-trust': source.trust,
      'data-session': source.session,
    },
    svg('title', {}, edgeSentence(edge)),
    warn
      ? svg('rect', {
          class: 'pg-row-warning',
          x: NODE_X + 6,
          y: edge.rowY,
          width: NODE_WIDTH - 7,
          height: ROW - 1,
        })
      : null,
    svg('path', { class: 'pg-hit', d: path }),
    svg('path', {
      class: `pg-line pg-trust-${source.trust}`,
      d: path,
      'marker-end': `url(#pg-arrow-${source.trust})`,
    }),
    svg(
      'text',
      { class: 'pg-link', x: NODE_X + 14, y: edge.rowY + 13 },
      `${clip(argName(source.arg), 18)} ← ${clip(fieldText, 24)}`,
    ),
    svg(
      'text',
      { class: 'pg-trust', x: right - 8, y: edge.rowY + 13, 'text-anchor': 'end' },
      `${warn ? source.trust.toUpperCase() : source.trust} · ${from}`,
    ),
  );
}

function arrowMarkers() {
  return svg(
    'defs',
    {},
    Object.keys(TRUST).map((trust) =>
      svg(
        'marker',
        {
          id: `pg-arrow-${trust}`,
          viewBox: '0 0 8 8',
          refX: 7,
          refY: 4,
          markerUnits: 'userSpaceOnUse',
          markerWidth: 9,
          markerHeight: 9,
          orient: 'auto',
        },
        svg('path', { class: `pg-arrowhead pg-trust-${trust}`, d: 'M 0 0 L 8 4 L 0 8 z' }),
      ),
    ),
  );
}

// ---------- details, highlight, memory ----------

/** The links of a node in words, or undefined when it has none. */
function linksText(list, side) {
  if (list.length === 0) return undefined;
  return list
    .map((edge) => {
      const field = edge.source.field ? ` ${edge.source.field}` : '';
      const into = side === 'out' ? ` into ${callLabel(edge.to)}` : '';
      return `${argName(edge.source.arg)} ← ${sourceLabel(edge.from)}${field} (${edge.source.trust})${into}`;
    })
    .join('; ');
}

function matchText(match) {
  if (match === 'value') return 'the whole value';
  if (match === 'phrase') return 'a phrase of the text';
  return `an identifier (${match}) inside it`;
}

function edgeDetails(ui, edge) {
  const { source } = edge;
  return [
    ui.h('h3', {}, `${argName(source.arg)} ← ${source.field ?? (source.trust === 'user' ? 'request' : '')}`),
    ui.definitions([
      ['Into', `${callLabel(edge.to)}, argument ${source.arg || '(the whole arguments)'}`],
      ['Its decision id', edge.to.decisionId],
      ['Value came from', sourceLabel(edge.from)],
      ['Source decision id', source.from ?? 'not on record'],
      ['Field', source.field],
      ['Session', source.session ? `${source.session} (a delegation hop)` : undefined],
      ['Trust', `${source.trust}: ${TRUST[source.trust] ?? ''}`],
      ['Matched', edge.matches.map(matchText).join(', ')],
    ]),
  ];
}

function requestDetails(ui, node) {
  return [
    ui.h('h3', {}, "The user's request"),
    ui.h('p', { class: 'pg-request-text' }, node.request.text),
    ui.definitions([
      ['Declared', node.request.via === 'session' ? 'for the whole session' : 'with the call'],
      ['On the record of', `#${node.number}, ${node.decisionId}`],
      ['Fed', linksText(node.outgoing, 'out') ?? 'no argument'],
    ]),
  ];
}

function externalDetails(ui, node) {
  return [
    ui.h('h3', {}, sourceLabel(node)),
    ui.definitions([
      ['Session', node.session ?? 'not given (the call is not in this timeline, e.g. pruned)'],
      ['Decision id', node.decisionId ?? 'not on record'],
      ['Tool', node.tool],
      ['Fed', linksText(node.outgoing, 'out')],
    ]),
  ];
}

function callDetails(ui, node) {
  const intent = node.step.intent?.event;
  const outcome = node.step.outcome?.event;
  const approval = outcome?.approval;
  return [
    ui.h('h3', {}, callLabel(node)),
    ui.definitions([
      ['Decision id', node.decisionId],
      [
        'Decision',
        intent
          ? `${EFFECT[intent.decision.effect] ?? intent.decision.effect}: ${intent.decision.reasons.join('; ')}`
          : undefined,
      ],
      ['Outcome', outcome?.outcome ?? 'in progress'],
      [
        'Approval',
        approval
          ? `${approval.approved ? 'approved' : 'refused'} by ${approval.by ?? '?'}: ${approval.reason ?? ''}`
          : undefined,
      ],
      ['Fed by', linksText(node.incoming, 'in') ?? 'no earlier output, no request'],
      ['Feeds', linksText(node.outgoing, 'out')],
      ["Model's own", node.own.length ? node.own.map(argName).join(', ') : undefined],
      ['Note', node.notes.join('; ') || undefined],
    ]),
  ];
}

/** What the panel beside the graph says about the node or edge `key` (or how to use it). */
function details(ui, graph, key) {
  const node = graph.nodes.find((each) => each.key === key);
  if (node?.kind === 'call') return callDetails(ui, node);
  if (node?.kind === 'request') return requestDetails(ui, node);
  if (node !== undefined) return externalDetails(ui, node);
  const edge = graph.edges.find((each) => each.key === key);
  if (edge !== undefined) return edgeDetails(ui, edge);
  return [
    ui.h('p', { class: 'muted' }, 'Hover over or select a call or a link to see where its values came from.'),
  ];
}

/** Marks the selected element and, for a node, its links; the rest fades. */
function highlight(chart, graph, key) {
  for (const element of chart.querySelectorAll('.pg-selected, .pg-related'))
    element.classList.remove('pg-selected', 'pg-related');
  chart.classList.toggle('pg-focused', key !== undefined);
  if (key === undefined) return;
  const related = new Set([key]);
  const node = graph.nodes.find((each) => each.key === key);
  for (const edge of [...(node?.incoming ?? []), ...(node?.outgoing ?? [])]) related.add(edge.key);
  for (const each of node?.incoming ?? []) related.add(each.from.key);
  for (const each of node?.outgoing ?? []) related.add(each.to.key);
  const edge = graph.edges.find((each) => each.key === key);
  if (edge) related.add(edge.from.key).add(edge.to.key);
  for (const element of chart.querySelectorAll('[data-key]')) {
    const mine = element.getAttribute('data-key');
    if (mine === key) element.classList.add('pg-selected');
    else if (related.has(mine)) element.classList.add('pg-related');
  }
}

function legend(ui) {
  const key = (trust, text) =>
    ui.h(
      'span',
      { class: 'pg-key' },
      svg(
        'svg',
        { class: 'pg-key-line', width: 28, height: 10, 'aria-hidden': 'true' },
        svg('line', { class: `pg-line pg-trust-${trust}`, x1: 0, y1: 5, x2: 28, y2: 5 }),
      ),
      text,
    );
  return ui.h(
    'p',
    { class: 'pg-legend' },
    key('untrusted', 'UNTRUSTED: text others wrote'),
    key('designated', 'DESIGNATED: untrusted text the user named'),
    key('undeclared', 'undeclared tool output'),
    key('trusted', 'trusted field'),
    key('user', "user's request"),
    ui.h(
      'span',
      { class: 'pg-key' },
      svg(
        'svg',
        { class: 'pg-key-line', width: 12, height: 10, 'aria-hidden': 'true' },
        svg('circle', { class: 'pg-own-marker', cx: 6, cy: 5, r: 3.5 }),
      ),
      "model's own value",
    ),
  );
}

/** A `<details>` whose open state survives the live refresh. */
function remembered(ui, name, summary, ...content) {
  const element = ui.h('details', { class: `pg-${name}` }, ui.h('summary', {}, summary), ...content);
  element.open = memory.open.has(name);
  element.addEventListener('toggle', () => {
    if (element.open) memory.open.add(name);
    else memory.open.delete(name);
  });
  return element;
}

function linkTable(ui, graph) {
  return ui.h(
    'table',
    { testid: 'provenance-table' },
    ui.h(
      'thead',
      {},
      ui.h(
        'tr',
        {},
        ['into call', 'argument', 'from', 'field', 'trust'].map((header) => ui.h('th', {}, header)),
      ),
    ),
    ui.h(
      'tbody',
      {},
      graph.edges.map((edge) =>
        ui.h(
          'tr',
          {},
          ui.h('td', {}, callLabel(edge.to)),
          ui.h('td', {}, edge.source.arg),
          ui.h('td', {}, sourceLabel(edge.from)),
          ui.h('td', {}, edge.source.field ?? ''),
          ui.h('td', {}, edge.source.trust),
        ),
      ),
    ),
  );
}

/** The untrusted links in words: the first thing a responder asks. */
function warnings(ui, graph) {
  const warned = graph.edges.filter((edge) => WARNING.has(edge.source.trust));
  if (warned.length === 0) return null;
  const shown = warned.slice(0, 5);
  return ui.h(
    'ul',
    { class: 'pg-warnings', testid: 'provenance-warnings' },
    shown.map((edge) => ui.h('li', {}, `⚠ ${edgeSentence(edge)}`)),
    warned.length > shown.length ? ui.h('li', {}, `and ${warned.length - shown.length} more`) : null,
  );
}

/**
 * Hover or focus shows an element's details in `panel`; a click (Enter, Space) keeps them and
 * highlights it; the selection and the scroll position are remembered across the live refresh.
 */
function interact(ui, graph, chart, panel, scroller) {
  const show = (key) => panel.replaceChildren(...details(ui, graph, key));
  show(memory.selected);
  highlight(chart, graph, memory.selected);
  const choose = (key) => {
    memory.selected = memory.selected === key ? undefined : key;
    highlight(chart, graph, memory.selected);
    show(memory.selected);
  };
  for (const element of chart.querySelectorAll('[data-key]')) {
    const key = element.getAttribute('data-key');
    element.addEventListener('click', () => choose(key));
    element.addEventListener('keydown', (event) => {
      if (event.key !== 'Enter' && event.key !== ' ') return;
      event.preventDefault();
      choose(key);
    });
    element.addEventListener('mouseenter', () => show(key));
    element.addEventListener('focus', () => show(key));
    element.addEventListener('mouseleave', () => show(memory.selected));
    element.addEventListener('blur', () => show(memory.selected));
  }
  scroller.addEventListener('scroll', () => {
    memory.scrollTop = scroller.scrollTop;
    memory.scrollLeft = scroller.scrollLeft;
  });
  // the live refresh replaces the page: scroll back to where the reader was once it is in place
  requestAnimationFrame(() => {
    if (!scroller.isConnected) return;
    scroller.scrollTop = memory.scrollTop;
    scroller.scrollLeft = memory.scrollLeft;
  });
}

/**
 * The graph section of the session page. `ui` is the console's toolkit (h, definitions, count).
 */
export function provenanceGraph(ui, sessionId, steps) {
  if (memory.sessionId !== sessionId) {
    Object.assign(memory, { sessionId, selected: undefined, scrollTop: 0, scrollLeft: 0 });
    memory.open.clear();
  }
  const graph = buildGraph(steps);
  if (
    !graph.nodes.some((node) => node.key === memory.selected) &&
    !graph.edges.some((edge) => edge.key === memory.selected)
  )
    memory.selected = undefined;
  const size = layout(graph);
  const warned = graph.edges.filter((edge) => WARNING.has(edge.source.trust)).length;
  const summary = [
    ui.count(steps.length, 'call'),
    ui.count(graph.edges.length, 'link'),
    warned ? `${warned} from untrusted text` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const chart = svg(
    'svg',
    {
      class: 'pg-svg',
      role: 'group',
      'aria-label': `Provenance graph: ${summary}`,
      width: size.width,
      height: size.height,
      viewBox: `0 0 ${size.width} ${size.height}`,
      'data-testid': 'provenance-graph',
    },
    arrowMarkers(),
    graph.nodes.map(drawNode),
    graph.edges.map(drawEdge),
  );
  const panel = ui.h('aside', { class: 'pg-details', testid: 'provenance-details', 'aria-live': 'polite' });
  const scroller = ui.h('div', { class: 'pg-scroll', testid: 'provenance-scroll' }, chart);
  interact(ui, graph, chart, panel, scroller);
  const body = ui.h('div', { class: 'pg-body' }, scroller, panel);
  const none = graph.edges.length === 0;
  return ui.h(
    'section',
    { class: 'card pg', testid: 'provenance' },
    ui.h('h2', {}, 'Provenance: which output fed which call'),
    ui.h('p', { class: 'muted', testid: 'provenance-summary' }, summary),
    none
      ? ui.h(
          'p',
          { testid: 'provenance-empty' },
          'No links: no argument of these calls was seen in an earlier output or in a request the user declared (their values are the model’s own, or they have none).',
        )
      : [warnings(ui, graph), legend(ui)],
    none ? remembered(ui, 'calls', 'Show the calls as a graph', body) : body,
    none
      ? null
      : remembered(ui, 'table', `The links as a table (${graph.edges.length})`, linkTable(ui, graph)),
  );
}
