/**
 * @module console/app
 * The Reins web console: one ES module, no framework, no build step. Everything on screen that came
 * from an agent, a tool or a user (arguments, results, reasons, ids) is put into the page with
 * `textContent` through `h()`: this file never assigns `innerHTML`, never builds markup from strings,
 * and never turns data into a link, so `<script>` or `javascript:` in a tool result stays text.
 * The session cookie is HttpOnly; the CSRF token is kept in memory and sent on every write.
 */

const state = {
  user: undefined,
  csrfToken: undefined,
  events: undefined,
  /** Reasons typed but not yet sent, by input key: a live refresh must not wipe them. */
  drafts: new Map(),
  /** Timeline steps the user opened, by decision id: a live refresh must not close them. */
  openSteps: new Set(),
  refreshTimer: undefined,
  pollTimer: undefined,
};

/**
 * Creates an element. `attributes` only sets properties from a fixed list (never `innerHTML`, never
 * `href`/`src` from data); children are nodes or strings (strings become text nodes).
 */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'class') element.className = value;
    else if (name === 'testid') element.dataset.testid = value;
    else if (name === 'key') element.dataset.key = value;
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (SAFE_ATTRIBUTES.has(name)) element.setAttribute(name, String(value));
    else throw new Error(`attribute ${name} is not allowed`);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const SAFE_ATTRIBUTES = new Set([
  'type',
  'name',
  'placeholder',
  'value',
  'disabled',
  'title',
  'autocomplete',
  'required',
  'colspan',
  'for',
  'id',
  'min',
  'max',
  'role',
  'aria-label',
  'aria-expanded',
  'aria-hidden',
]);

/** Whether the signed-in user holds a built-in role (the server checks again; this only avoids dead buttons). */
function may(role) {
  return state.user?.effectiveRoles?.includes(role) === true;
}

function badge(text) {
  return h('span', { class: `badge ${String(text).replace(/[^a-z-]/g, '')}` }, text);
}

function definitions(pairs) {
  return h(
    'dl',
    {},
    pairs
      .filter(([, value]) => value !== undefined && value !== '')
      .flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]),
  );
}

function when(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

/** The time of day for today's moments, the full date and time for older ones. */
function shortWhen(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toDateString() === new Date().toDateString()
    ? date.toLocaleTimeString()
    : date.toLocaleString();
}

/** `1 call`, `2 calls`: every count the console writes in a sentence goes through here. */
function count(n, singular, plural = `${singular}s`) {
  return `${n} ${n === 1 ? singular : plural}`;
}

function notice(message, kind = 'info') {
  const element = document.getElementById('notice');
  element.textContent = message;
  element.className = kind;
  element.hidden = !message;
}

class ApiFailure extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `request failed (${status})`);
    this.status = status;
    this.code = body?.error?.code;
  }
}

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && state.csrfToken) headers['x-csrf-token'] = state.csrfToken;
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return undefined;
  const data = await response.json().catch(() => undefined);
  if (!response.ok) {
    if (response.status === 401 && path !== '/v1/login') showLogin('Your session ended; log in again.');
    throw new ApiFailure(response.status, data);
  }
  return data;
}

/** A reason input whose text survives live re-rendering. */
function reasonInput(key, placeholder) {
  return h('input', {
    class: 'reason',
    type: 'text',
    name: 'reason',
    key,
    placeholder,
    value: state.drafts.get(key) ?? '',
    'aria-label': placeholder,
    oninput: (event) => state.drafts.set(key, event.target.value),
  });
}

/** Runs a write; reports its error in the notice bar and re-renders the view on success. */
async function act(key, work) {
  const reason = (state.drafts.get(key) ?? '').trim();
  if (!reason) {
    notice('Give a reason: it is recorded in the audit log.', 'error');
    return;
  }
  try {
    await work(reason);
    state.drafts.delete(key);
    notice('');
    await render();
  } catch (error) {
    notice(error.message, 'error');
  }
}

// ---------- views ----------

async function viewApprovals() {
  const [{ approvals: pending }, { approvals: recent }] = await Promise.all([
    api('GET', '/v1/approvals?status=pending&limit=200'),
    api('GET', '/v1/approvals?limit=30'),
  ]);
  const decided = recent.filter((record) => record.status !== 'pending');
  return [
    h('h1', {}, `Approvals inbox (${pending.length} waiting)`),
    pending.length === 0
      ? h('p', { class: 'muted', testid: 'inbox-empty' }, 'Nothing is waiting for a human.')
      : null,
    pending.map(approvalCard),
    h('h2', {}, 'Recently decided'),
    decided.length === 0 ? h('p', { class: 'muted' }, 'None yet.') : decided.map(approvalCard),
  ];
}

function approvalCard(record) {
  const key = `approval:${record.id}`;
  const pending = record.status === 'pending';
  return h(
    'section',
    { class: 'card', testid: 'approval', key: record.id },
    h(
      'div',
      { class: 'row' },
      badge(record.status),
      h('strong', { testid: 'approval-tool' }, `${record.tool.server}/${record.tool.name}`),
    ),
    definitions([
      ['Why held', h('span', { testid: 'approval-reasons' }, record.reasons.join('; '))],
      ['Agent', h('span', { testid: 'approval-agent' }, record.agentId)],
      ['Owner', record.owner],
      ['Delegated by', record.delegatedBy.join(' → ')],
      ['Session', h('span', { testid: 'approval-session' }, record.sessionId)],
      [
        'Who may approve',
        record.requirements
          .map(
            (requirement) =>
              `${requirement.quorum} of ${requirement.approvers.join(' or ')}${requirement.ownerMayApprove ? '' : ' (not the owner alone)'}`,
          )
          .join('; '),
      ],
      ['Requested', when(record.createdAt)],
      ['Expires', when(record.expiresAt)],
      ['Call hash', record.callHash],
    ]),
    h('div', { class: 'muted' }, 'Arguments as recorded (held-back secrets show as placeholders):'),
    h('pre', { testid: 'approval-args' }, JSON.stringify(record.args, null, 2)),
    record.votes.length > 0
      ? h(
          'ul',
          {},
          record.votes.map((vote) =>
            h(
              'li',
              {},
              `${vote.approved ? 'approved' : 'denied'} by ${vote.actor.id} at ${when(vote.at)}: ${vote.reason}`,
            ),
          ),
        )
      : null,
    pending
      ? h(
          'div',
          { class: 'row' },
          reasonInput(key, 'Reason (recorded)'),
          h(
            'button',
            {
              class: 'primary',
              type: 'button',
              testid: 'approve',
              onclick: () =>
                act(key, (reason) =>
                  api('POST', `/v1/approvals/${encodeURIComponent(record.id)}/approve`, { reason }),
                ),
            },
            'Approve',
          ),
          h(
            'button',
            {
              class: 'danger',
              type: 'button',
              testid: 'deny',
              onclick: () =>
                act(key, (reason) =>
                  api('POST', `/v1/approvals/${encodeURIComponent(record.id)}/deny`, { reason }),
                ),
            },
            'Deny',
          ),
        )
      : null,
  );
}

async function viewSessions() {
  const { sessions } = await api('GET', '/v1/sessions?limit=200');
  return [
    h('h1', {}, 'Sessions'),
    sessions.length === 0
      ? h('p', { class: 'muted' }, 'No sessions yet.')
      : h(
          'table',
          { testid: 'sessions' },
          h(
            'tr',
            {},
            h('th', {}, 'Session'),
            h('th', {}, 'Agent'),
            h('th', {}, 'Status'),
            h('th', {}, 'Started'),
            h('th', {}, 'Changed'),
          ),
          sessions.map((session) =>
            h(
              'tr',
              { testid: 'session-row', key: session.id },
              h(
                'td',
                {},
                h(
                  'button',
                  {
                    type: 'button',
                    testid: 'open-session',
                    onclick: () => go(`sessions/${encodeURIComponent(session.id)}`),
                  },
                  session.id,
                ),
              ),
              h('td', {}, session.agentId),
              h('td', {}, badge(session.status)),
              h('td', {}, when(session.startedAt)),
              h(
                'td',
                {},
                session.changedBy ? `${session.changedBy}: ${session.reason ?? ''}` : when(session.updatedAt),
              ),
            ),
          ),
        ),
  ];
}

async function viewSession(id) {
  const [session, { steps }] = await Promise.all([
    api('GET', `/v1/sessions/${encodeURIComponent(id)}`),
    api('GET', `/v1/sessions/${encodeURIComponent(id)}/timeline`),
  ]);
  const key = `session:${id}`;
  const control = (action, label, kind) =>
    h(
      'button',
      {
        type: 'button',
        class: kind,
        testid: `session-${action}`,
        disabled:
          !may('approver') ||
          session.status === 'killed' ||
          (action === 'pause' && session.status === 'paused') ||
          (action === 'resume' && session.status === 'active'),
        onclick: () =>
          act(key, (reason) => api('POST', `/v1/sessions/${encodeURIComponent(id)}/${action}`, { reason })),
      },
      label,
    );
  return [
    h('h1', {}, 'Session ', h('span', { testid: 'session-id' }, id)),
    h(
      'section',
      { class: 'card' },
      definitions([
        ['Status', h('span', { testid: 'session-status' }, badge(session.status))],
        ['Agent', session.agentId],
        ['Started', when(session.startedAt)],
        [
          'Last change',
          session.changedBy
            ? `${session.changedBy}: ${session.reason ?? ''} (${when(session.updatedAt)})`
            : undefined,
        ],
      ]),
      h(
        'div',
        { class: 'row' },
        reasonInput(key, 'Reason (recorded)'),
        control('pause', 'Pause'),
        control('resume', 'Resume'),
        control('kill', 'Kill session', 'danger'),
      ),
    ),
    h('h2', {}, `Timeline (${count(steps.length, 'call')}, updating live)`),
    steps.length === 0
      ? h('p', { class: 'muted' }, 'No calls yet.')
      : h(
          'div',
          { class: 'timeline', testid: 'timeline' },
          h(
            'div',
            { class: 'timeline-head', 'aria-hidden': 'true' },
            ['Time', 'Tool', 'Decision', 'Outcome', 'Why (open a row for the details)'].map((label) =>
              h('span', {}, label),
            ),
          ),
          steps.map(timelineStep),
        ),
  ];
}

/**
 * One call of a session: a one-line row (time, tool, decision, outcome, why) that opens on demand
 * (a `<details>`: click, Enter or Space). Its details are built only when it is open, and it stays open
 * across live refreshes.
 */
function timelineStep(step) {
  const intent = step.intent?.event;
  const outcome = step.outcome?.event;
  const effect = intent?.decision.effect ?? '';
  const why = stepReason(intent, outcome);
  const body = h('div', { class: 'step-body' });
  const element = h(
    'details',
    { class: `step ${effect} ${outcome?.outcome ?? ''}`, testid: 'step' },
    h(
      'summary',
      { testid: 'step-row', key: `step:${step.decisionId}` },
      h(
        'span',
        { class: 'step-time', title: when(intent?.time ?? outcome?.time) },
        shortWhen(intent?.time ?? outcome?.time),
      ),
      h('span', { class: 'step-tool', title: step.tool }, step.tool),
      h('span', {}, effect ? badge(effect) : null),
      h('span', {}, outcome ? badge(outcome.outcome) : h('span', { class: 'muted' }, 'in progress')),
      h('span', { class: 'step-why', title: why }, why),
    ),
    body,
  );
  const fill = () => {
    if (element.open && !body.hasChildNodes()) body.append(...stepDetails(step).flat().filter(Boolean));
  };
  element.open = state.openSteps.has(step.decisionId);
  fill();
  element.addEventListener('toggle', () => {
    if (element.open) state.openSteps.add(step.decisionId);
    else state.openSteps.delete(step.decisionId);
    fill();
  });
  return element;
}

/** The row's short reason: why the policy decided as it did, and who released or refused a held call. */
function stepReason(intent, outcome) {
  const reasons = intent?.decision.reasons ?? [];
  const parts = [reasons.length > 1 ? `${reasons[0]} (+${reasons.length - 1} more)` : reasons[0]];
  const approval = outcome?.approval;
  if (approval)
    parts.push(
      `${approval.approved ? 'approved' : 'refused'} by ${approval.by ?? '?'}: ${approval.reason ?? ''}`,
    );
  else if (outcome?.error) parts.push(outcome.error);
  return parts.filter(Boolean).join(' · ');
}

function stepDetails(step) {
  const intent = step.intent?.event;
  const outcome = step.outcome?.event;
  return [
    definitions([
      ['Decision id', step.decisionId],
      [
        'Agent',
        step.delegatedBy.length ? `${step.agentId} (for ${step.delegatedBy.join(' → ')})` : step.agentId,
      ],
      ['Why', intent?.decision.reasons.join('; ')],
      ['Rules', intent?.decision.matchedRules.join(', ')],
      [
        'Provenance',
        step.links.length
          ? step.links.map((link) => `${link.rel}: ${link.id}`).join('; ')
          : 'no earlier output fed this call',
      ],
      [
        'Approval',
        outcome?.approval
          ? `${outcome.approval.approved ? 'approved' : 'refused'} by ${outcome.approval.by ?? '?'}: ${outcome.approval.reason ?? ''}`
          : undefined,
      ],
      ['Error', outcome?.error],
      [
        'Audit records',
        [step.intent ? `intent #${step.intent.seq}` : '', step.outcome ? `outcome #${step.outcome.seq}` : '']
          .filter(Boolean)
          .join(', '),
      ],
    ]),
    intent
      ? [
          h('div', { class: 'muted' }, 'Arguments'),
          h('pre', { testid: 'step-args' }, JSON.stringify(intent.args, null, 2)),
        ]
      : null,
    outcome && outcome.result !== undefined
      ? [
          h('div', { class: 'muted' }, 'Result (as the agent saw it)'),
          h('pre', { testid: 'step-result' }, JSON.stringify(outcome.result, null, 2)),
        ]
      : null,
  ];
}

async function viewAudit(params) {
  const query = new URLSearchParams();
  for (const [name, value] of params) if (value) query.set(name, value);
  if (!query.has('limit')) query.set('limit', '200');
  query.set('order', 'desc'); // the newest first: what just happened is what an operator looks for
  const { records } = await api('GET', `/v1/audit?${query}`);
  const field = (name, placeholder) =>
    h('input', { name, placeholder, value: params.get(name) ?? '', 'aria-label': placeholder });
  const kinds = ['', 'call-intent', 'call-outcome', 'operator-action', 'credential-rejected', 'tool-pinning'];
  const form = h(
    'form',
    {
      class: 'filters',
      testid: 'audit-filters',
      onsubmit: (event) => {
        event.preventDefault();
        const data = new URLSearchParams();
        for (const [name, value] of new FormData(event.target)) if (value) data.set(name, String(value));
        go(`audit?${data}`);
      },
    },
    field('agentId', 'agent'),
    field('sessionId', 'session'),
    field('tool', 'server/tool'),
    field('effect', 'effect or outcome'),
    h(
      'select',
      { name: 'kind', 'aria-label': 'kind' },
      kinds.map((kind) => {
        const option = h('option', { value: kind }, kind || 'any kind');
        option.selected = params.get('kind') === kind;
        return option;
      }),
    ),
    field('from', 'from (ISO 8601)'),
    field('to', 'to (ISO 8601)'),
    h('button', { type: 'submit', class: 'primary' }, 'Filter'),
  );
  const report = h('div', { testid: 'verify-report' });
  const verify = h(
    'button',
    {
      type: 'button',
      testid: 'verify',
      onclick: async () => {
        report.replaceChildren(h('p', { class: 'muted' }, 'Verifying the whole chain…'));
        try {
          const result = await api('POST', '/v1/audit/verify');
          report.replaceChildren(
            h(
              'section',
              { class: 'card' },
              h(
                'div',
                { class: 'row' },
                badge(result.ok ? 'ok' : 'error'),
                result.ok
                  ? 'The chain is intact.'
                  : `Broken at record ${result.firstBad?.seq}: ${result.firstBad?.message}`,
              ),
              definitions([
                ['Records checked', String(result.checked)],
                ['Last record', `#${result.lastSeq} ${result.lastHash}`],
                ['Checkpoints verified', String(result.checkpointsVerified)],
                ['Signatures checked', result.signaturesChecked ? 'yes' : 'no (no public key configured)'],
              ]),
            ),
          );
        } catch (error) {
          report.replaceChildren(h('p', {}, error.message));
        }
      },
    },
    'Verify chain',
  );
  return [
    h('h1', {}, 'Audit log (newest first)'),
    form,
    h('div', { class: 'row' }, verify),
    report,
    h(
      'table',
      { testid: 'audit-records' },
      h(
        'tr',
        {},
        h('th', {}, '#'),
        h('th', {}, 'Time'),
        h('th', {}, 'Kind'),
        h('th', {}, 'Agent'),
        h('th', {}, 'Session'),
        h('th', {}, 'What'),
        h('th', {}, 'Details'),
      ),
      records.flatMap(auditRow),
    ),
    pager(params, records),
  ];
}

/**
 * Records come newest first; the next page holds the records before the oldest one shown, so records
 * appended meanwhile do not shift it (a cursor, not an offset).
 */
function pager(params, records) {
  const limit = Number(params.get('limit') ?? 200);
  const paged = params.has('beforeSeq');
  const full = records.length >= limit;
  if (!full && !paged) return null;
  const older = new URLSearchParams(params);
  older.set('beforeSeq', String(records.at(-1)?.seq ?? params.get('beforeSeq')));
  const newest = new URLSearchParams(params);
  newest.delete('beforeSeq');
  return h(
    'div',
    { class: 'row' },
    paged
      ? h(
          'button',
          { type: 'button', testid: 'audit-newest', onclick: () => go(`audit?${newest}`) },
          'Newest records',
        )
      : null,
    full
      ? h(
          'button',
          { type: 'button', testid: 'audit-next', onclick: () => go(`audit?${older}`) },
          'Older records',
        )
      : h('span', { class: 'muted' }, 'Start of the log.'),
  );
}

/** A refused credential's agent or session: only what the token claimed, never who acted. */
function claimed(value) {
  if (!value) return '';
  return h(
    'span',
    { class: 'claimed', title: 'claimed by a credential that did not verify' },
    value,
    ' ',
    h('span', { class: 'claimed-tag' }, '(claimed, unverified)'),
  );
}

function auditWhat(event) {
  const tool = event.tool ? `${event.tool.server}/${event.tool.name}` : '';
  if (event.kind === 'call-intent') return [tool, event.decision.effect];
  if (event.kind === 'call-outcome') return [tool, event.outcome];
  if (event.kind === 'operator-action')
    return [`${event.action} ${event.target.type} ${event.target.id} by ${event.actor.id}`];
  if (event.kind === 'credential-rejected')
    return [
      [event.repeated ? `${event.code} ×${event.repeated}` : event.code, tool].filter(Boolean).join(' '),
    ];
  return [tool, event.status];
}

/** A record's row, and below it a full-width row with the whole record, built when first opened. */
function auditRow(record) {
  const event = record.event;
  const rejected = event.kind === 'credential-rejected';
  const agent = rejected ? claimed(event.claimedAgentId) : (event.principal?.agentId ?? event.agentId ?? '');
  const session = rejected ? claimed(event.claimedSessionId) : (event.sessionId ?? '');
  const what = auditWhat(event);
  const cell = h('td', { colspan: 7 });
  const detail = h('tr', { class: 'record-detail', testid: 'audit-detail' }, cell);
  detail.hidden = true;
  const toggle = h(
    'button',
    {
      type: 'button',
      class: 'link',
      testid: 'audit-expand',
      'aria-expanded': 'false',
      onclick: () => {
        const open = detail.hidden;
        if (open && !cell.hasChildNodes()) cell.append(...recordDetails(record));
        detail.hidden = !open;
        toggle.setAttribute('aria-expanded', String(open));
        toggle.textContent = open ? 'Hide record' : 'Show record';
      },
    },
    'Show record',
  );
  return [
    h(
      'tr',
      { testid: 'audit-row' },
      h('td', {}, String(record.seq)),
      h('td', { class: 'nowrap' }, when(event.time)),
      h('td', {}, event.kind),
      h('td', { testid: 'audit-agent' }, agent),
      h('td', { testid: 'audit-session' }, session),
      h('td', {}, what[0], what[1] ? [' ', badge(what[1])] : null),
      h('td', {}, toggle),
    ),
    detail,
  ];
}

function recordDetails(record) {
  const event = record.event;
  return [
    event.kind === 'credential-rejected'
      ? h(
          'p',
          { class: 'claimed-note', testid: 'claimed-note' },
          'A refused credential: its agent and session (claimedAgentId, claimedSessionId) are what the token claimed. It did not verify, so they are not who made the request.',
        )
      : null,
    definitions([
      ['Record', `#${record.seq}`],
      ['Hash', record.hash],
      ['Decision id', event.decisionId],
    ]),
    h('pre', { class: 'record', testid: 'audit-record' }, JSON.stringify(event, null, 2)),
  ].filter(Boolean);
}

async function viewAgents() {
  const { agents } = await api('GET', '/v1/agents');
  return [
    h('h1', {}, 'Agents'),
    h(
      'table',
      { testid: 'agents' },
      h(
        'tr',
        {},
        h('th', {}, 'Agent'),
        h('th', {}, 'State'),
        h('th', {}, 'Owner'),
        h('th', {}, 'Scopes'),
        h('th', {}, 'Risk'),
      ),
      agents.map((agent) =>
        h(
          'tr',
          { key: agent.id },
          h(
            'td',
            {},
            h(
              'button',
              { type: 'button', onclick: () => go(`agents/${encodeURIComponent(agent.id)}`) },
              agent.id,
            ),
          ),
          h('td', {}, badge(agent.state)),
          h('td', {}, agent.owner),
          h('td', {}, agent.scopes.join(', ')),
          h('td', {}, agent.riskTier),
        ),
      ),
    ),
  ];
}

async function viewAgent(id) {
  const { agent, revocations } = await api('GET', `/v1/agents/${encodeURIComponent(id)}`);
  const key = `agent:${id}`;
  const post = (path) =>
    act(key, (reason) => api('POST', `/v1/agents/${encodeURIComponent(id)}/${path}`, { reason }));
  return [
    h('h1', {}, 'Agent ', agent.id),
    may('admin')
      ? null
      : h('p', { class: 'muted' }, 'Suspending, resuming and revoking need the admin role.'),
    h(
      'section',
      { class: 'card' },
      definitions([
        ['State', h('span', { testid: 'agent-state' }, badge(agent.state))],
        ['Owner', agent.owner],
        ['Description', agent.description],
        ['Mission scopes', agent.scopes.join(', ') || '(none)'],
        ['Roles', agent.roles.join(', ')],
        ['Risk tier', agent.riskTier],
        ['Updated', when(agent.updatedAt)],
      ]),
      h(
        'div',
        { class: 'row' },
        reasonInput(key, 'Reason (recorded)'),
        h(
          'button',
          {
            type: 'button',
            class: 'danger',
            testid: 'agent-suspend',
            disabled: agent.state !== 'active' || !may('admin'),
            onclick: () => post('suspend'),
          },
          'Suspend (kill switch)',
        ),
        h(
          'button',
          {
            type: 'button',
            testid: 'agent-resume',
            disabled: agent.state !== 'suspended' || !may('admin'),
            onclick: () => post('resume'),
          },
          'Resume',
        ),
        h(
          'button',
          {
            type: 'button',
            testid: 'agent-revoke',
            disabled: !may('admin'),
            onclick: () => post('credentials/revoke'),
          },
          'Revoke credentials',
        ),
      ),
    ),
    h('h2', {}, 'Credential revocations in force'),
    revocations.length === 0
      ? h('p', { class: 'muted' }, 'None: credentials issued to this agent are valid until they expire.')
      : h(
          'table',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Revoked at'),
            h('th', {}, 'By'),
            h('th', {}, 'Reason'),
            h('th', {}, 'Kept until'),
          ),
          revocations.map((revocation) =>
            h(
              'tr',
              {},
              h('td', {}, when(revocation.at)),
              h('td', {}, revocation.by),
              h('td', {}, revocation.reason),
              h('td', {}, when(revocation.until)),
            ),
          ),
        ),
  ];
}

async function viewPolicy() {
  const status = await api('GET', '/v1/policy');
  return [
    h('h1', {}, 'Policy in force'),
    h(
      'section',
      { class: 'card' },
      definitions([
        ['Hash', h('span', { testid: 'policy-hash' }, status.hash)],
        ['Path', status.path],
        ['Loaded', when(status.loadedAt)],
        [
          'Rules',
          `${count(status.summary.rules, 'rule')} (${status.summary.shadowRules} shadow) in ${count(status.summary.documents, 'document')}; ${count(status.summary.tools, 'catalogued tool')}`,
        ],
      ]),
      h('h2', {}, 'Files'),
      h(
        'ul',
        {},
        status.files.map((file) => h('li', {}, file)),
      ),
      h('h2', {}, 'Last reload'),
      status.lastReload
        ? [
            h(
              'div',
              { class: 'row' },
              badge(status.lastReload.outcome === 'reloaded' ? 'ok' : 'error'),
              `${status.lastReload.outcome} at ${when(status.lastReload.at)}`,
            ),
            status.lastReload.problems.length ? h('pre', {}, status.lastReload.problems.join('\n')) : null,
          ]
        : h('p', { class: 'muted' }, 'No reload since start.'),
    ),
  ];
}

// ---------- routing, login, live updates ----------

function go(route) {
  window.location.hash = `#/${route}`;
}

function currentRoute() {
  const hash = window.location.hash.replace(/^#\/?/, '') || 'approvals';
  const [path, query = ''] = hash.split('?');
  const [view, id] = path.split('/');
  return {
    view,
    id: id === undefined ? undefined : decodeURIComponent(id),
    params: new URLSearchParams(query),
  };
}

async function render() {
  if (state.user === undefined) return;
  const route = currentRoute();
  for (const link of document.querySelectorAll('#nav a'))
    link.classList.toggle('active', link.dataset.view === route.view);
  const views = {
    approvals: () => viewApprovals(),
    sessions: () => (route.id ? viewSession(route.id) : viewSessions()),
    audit: () => viewAudit(route.params),
    agents: () => (route.id ? viewAgent(route.id) : viewAgents()),
    policy: () => viewPolicy(),
  };
  const view = views[route.view] ?? views.approvals;
  try {
    const content = await view();
    const focused = document.activeElement?.dataset?.key;
    const main = document.getElementById('main');
    main.replaceChildren(...[content].flat(3).filter(Boolean));
    // the element that had the focus (a reason input, a timeline row) keeps it across a live refresh
    if (focused) main.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 401) return;
    document.getElementById('main').replaceChildren(h('p', { class: 'card' }, error.message));
  }
}

/** Views that follow changes live; the others (audit, agents, policy) change only when asked. */
function isLiveView() {
  const { view } = currentRoute();
  return view === 'approvals' || view === 'sessions' || view === undefined || view === '';
}

/** Re-renders a live view soon after a change (several events in a burst cause one refresh). */
function refreshSoon() {
  if (!isLiveView()) return;
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => {
    if (isLiveView()) render();
  }, 150);
}

function listen() {
  state.events?.close();
  state.events = new EventSource('/v1/events');
  state.events.addEventListener('approval', refreshSoon);
  state.events.addEventListener('session', refreshSoon);
  // timelines come from the audit log, which has no push: poll the live views as well
  clearInterval(state.pollTimer);
  state.pollTimer = setInterval(refreshSoon, 2_000);
}

function signedIn(user, csrfToken) {
  state.user = user;
  state.csrfToken = csrfToken;
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  document.getElementById('who').textContent = `${user.id} (${user.roles.join(', ')})`;
  listen();
  render();
}

function showLogin(message) {
  state.user = undefined;
  state.csrfToken = undefined;
  state.events?.close();
  clearInterval(state.pollTimer);
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('who').textContent = '';
  const error = h('p', { class: 'muted', testid: 'login-error' }, message ?? '');
  const input = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'off',
    placeholder: 'reins_u_…',
    required: true,
    'aria-label': 'API token',
  });
  const form = h(
    'form',
    {
      class: 'card login',
      testid: 'login',
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const session = await api('POST', '/v1/login', { token: input.value.trim() });
          input.value = '';
          signedIn(session.user, session.csrfToken);
        } catch (failure) {
          error.textContent = failure.message;
        }
      },
    },
    h('h1', {}, 'Log in'),
    h(
      'p',
      { class: 'muted' },
      'Paste the API token from `reins users create`. It is exchanged for a session cookie and not stored in the browser.',
    ),
    input,
    h('button', { type: 'submit', class: 'primary' }, 'Log in'),
    error,
  );
  document.getElementById('main').replaceChildren(form);
}

async function start() {
  document.getElementById('logout').addEventListener('click', async () => {
    await api('POST', '/v1/logout').catch(() => {});
    showLogin('Logged out.');
  });
  window.addEventListener('hashchange', render);
  try {
    const me = await api('GET', '/v1/me');
    signedIn(me.user, me.csrfToken);
  } catch {
    showLogin();
  }
}

start();
