/**
 * @module console/app
 * The Reins web console: one ES module, no framework, no build step. Everything on screen that came
 * from an agent, a tool or a user (arguments, results, reasons, ids) is put into the page with
 * `textContent` through `h()`: this file never assigns `innerHTML`, never builds markup from strings,
 * and never turns data into a link, so `<script>` or `javascript:` in a tool result stays text.
 * The session cookie is HttpOnly; the CSRF token is kept in memory and sent on every write.
 */
import { viewDashboard } from './dashboard.js';
import { stepFindingsDetails, stepFindingsLine, viewMonitor } from './monitor.js';
import { viewPosture } from './posture.js';
import { provenanceGraph } from './provenance-graph.js';

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
  /** The open rollback dialog, if any (outside `#main`: live refreshes leave it alone). */
  rollback: undefined,
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
  'aria-labelledby',
  'aria-expanded',
  'aria-hidden',
  'aria-live',
  'checked',
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
    this.details = body?.error?.details;
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
  const [session, { steps, posture }, me] = await Promise.all([
    api('GET', `/v1/sessions/${encodeURIComponent(id)}`),
    api('GET', `/v1/sessions/${encodeURIComponent(id)}/timeline`),
    // the policy in force says who may roll back: asked again on every render, as it may be reloaded
    api('GET', '/v1/me'),
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
        ['Posture', h('span', { testid: 'session-posture' }, postureText(posture))],
      ]),
      h(
        'div',
        { class: 'row' },
        reasonInput(key, 'Reason (recorded)'),
        control('pause', 'Pause'),
        control('resume', 'Resume'),
        control('kill', 'Kill session', 'danger'),
      ),
      // a rollback session holds compensations, which are not undone in turn
      me.permissions?.rollback && !id.startsWith('reins.rollback/')
        ? h(
            'div',
            { class: 'row' },
            h(
              'button',
              { type: 'button', class: 'danger', testid: 'rollback-open', onclick: () => openRollback(id) },
              'Roll back…',
            ),
            h(
              'span',
              { class: 'muted' },
              'Undo what this session changed, newest call first. You see the plan before anything runs.',
            ),
          )
        : null,
    ),
    // where each call's argument values came from, as a graph (issue 18)
    steps.length > 0 ? provenanceGraph({ h, definitions, count }, id, steps) : null,
    h('h2', {}, `Timeline (${count(steps.length, 'call')}, updating live)`),
    steps.length === 0
      ? h('p', { class: 'muted' }, 'No calls yet.')
      : h(
          'div',
          { class: 'timeline', testid: 'timeline' },
          h(
            'div',
            { class: 'timeline-head', 'aria-hidden': 'true' },
            ['Time', 'Tool', 'Decision', 'Outcome', 'Undo', 'Why (open a row for the details)'].map((label) =>
              h('span', {}, label),
            ),
          ),
          steps.map(timelineStep),
        ),
  ];
}

/** `2 of 3 changing calls reversible (1 unavailable); 2 undone by a rollback`. */
function postureText(posture) {
  if (posture.changing === 0) return 'No call changed anything.';
  const others = Object.entries(posture.kinds)
    .filter(([kind]) => kind !== 'reversible')
    .map(([kind, n]) => `${n} ${kind}`);
  return [
    `${posture.reversible} of ${count(posture.changing, 'changing call')} reversible`,
    others.length > 0 ? ` (${others.join(', ')})` : '',
    posture.undone > 0 ? `; ${posture.undone} undone by a rollback` : '',
  ].join('');
}

/**
 * How a call can be undone, as a badge whose title says why: reversible, irreversible, external,
 * undeclared or unavailable as its intent recorded it; `read-only` for a tool the catalogue says only
 * reads; `undone` once a rollback undid it; `undoes` for a rollback's compensation.
 */
function reversalBadge(step) {
  const tag = (text, title, kind = text) =>
    h('span', { class: `badge ${kind}`, testid: 'step-reversal', title }, text);
  if (step.compensates) {
    const of = step.compensates;
    return tag(
      'undoes',
      `undoes call ${of.decisionId} of session ${of.sessionId} (step ${of.step + 1} of ${of.steps}, rollback by ${of.by})`,
    );
  }
  if (step.undone) return tag('undone', `undone by rollback ${step.undone.rollbackId} (${step.undone.by})`);
  if (!step.reversal) return null;
  if (step.changes === false)
    return tag('read-only', 'the catalogue says this tool only reads: nothing to undo');
  if (!step.ran)
    return h(
      'span',
      { class: 'muted', testid: 'step-reversal', title: 'it did not run: nothing to undo' },
      '–',
    );
  return tag(step.reversal.kind, step.reversal.reason ?? step.reversal.kind);
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
      h('span', {}, reversalBadge(step)),
      h('span', { class: 'step-why', title: why }, why),
      stepFindingsLine({ h, badge }, step),
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
      ['Argument sources', argumentSources(step.provenance)],
      [
        'Approval',
        outcome?.approval
          ? `${outcome.approval.approved ? 'approved' : 'refused'} by ${outcome.approval.by ?? '?'}: ${outcome.approval.reason ?? ''}`
          : undefined,
      ],
      ['Error', outcome?.error],
      [
        'Reversal',
        step.reversal
          ? `${step.changes === false ? 'read-only' : step.reversal.kind}${step.reversal.reason && step.changes !== false ? `: ${step.reversal.reason}` : ''}`
          : undefined,
      ],
      [
        'Undoes',
        step.compensates
          ? `${step.compensates.decisionId} of session ${step.compensates.sessionId} (step ${step.compensates.step + 1} of ${step.compensates.steps}, rollback ${step.compensates.rollbackId} by ${step.compensates.by})`
          : undefined,
      ],
      [
        'Undone',
        step.undone
          ? `by rollback ${step.undone.rollbackId} (${step.undone.by}): ${step.undone.compensations.join(', ')}`
          : undefined,
      ],
      [
        'Audit records',
        [step.intent ? `intent #${step.intent.seq}` : '', step.outcome ? `outcome #${step.outcome.seq}` : '']
          .filter(Boolean)
          .join(', '),
      ],
    ]),
    stepFindingsDetails({ h, badge, definitions, count }, step),
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

/** `to ← crm/get_contact /notes (untrusted); body: model's own`: the step's provenance in one line. */
function argumentSources(provenance) {
  if (!provenance) return undefined;
  const parts = provenance.sources.map((source) => {
    if (source.trust === 'none') return `${source.arg}: model's own`;
    const where =
      source.trust === 'user' ? "the user's request" : [source.tool, source.field].filter(Boolean).join(' ');
    const session = source.session ? ` in session ${source.session}` : '';
    return `${source.arg} ← ${where}${session} (${source.trust})`;
  });
  if (provenance.truncated) parts.push('more values than listed');
  if (provenance.incomplete) parts.push("data flow incomplete: a model's own value may hide a source");
  return parts.join('; ') || 'no argument values';
}

// ---------- rollback (issue 16) ----------

/**
 * The rollback dialog of a session: the plan first (a dry run), each call with its status and the
 * steps that would undo it, conflicts with other sessions highlighted; "keep up to this call" picks
 * the rollback point (the plan is asked again for it); a reason and a confirmation run it, and the
 * report says what was and was not undone. A modal `<dialog>` outside `#main`, so that the live
 * refresh of the timeline behind it leaves it alone.
 */
async function openRollback(sessionId) {
  closeRollback();
  const dialog = h('dialog', {
    class: 'rollback',
    testid: 'rollback-dialog',
    'aria-labelledby': 'rollback-title',
  });
  const view = { dialog, sessionId, all: undefined, plan: undefined, to: undefined, force: false };
  view.reason = '';
  state.rollback = view;
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (state.rollback === view) state.rollback = undefined;
  });
  document.body.append(dialog);
  dialog.showModal();
  paintRollback(view, { note: 'Planning…' });
  try {
    const { plan } = await rollbackRequest(view, { dryRun: true });
    view.all = plan;
    view.plan = plan;
    paintRollback(view);
  } catch (error) {
    paintRollback(view, { error: error.message });
  }
}

function closeRollback() {
  state.rollback?.dialog.close();
}

function rollbackRequest(view, body) {
  return api('POST', `/v1/sessions/${encodeURIComponent(view.sessionId)}/rollback`, {
    ...(view.to ? { to: view.to } : {}),
    ...body,
  });
}

/** Picks the rollback point (undefined: undo every call) and asks for its plan. */
async function keepUpTo(view, decisionId) {
  view.to = decisionId;
  paintRollback(view, { note: 'Planning…', focus: `to:${decisionId ?? ''}` });
  try {
    view.plan = (await rollbackRequest(view, { dryRun: true })).plan;
    paintRollback(view, { focus: `to:${decisionId ?? ''}` });
  } catch (error) {
    paintRollback(view, { error: error.message, focus: `to:${decisionId ?? ''}` });
  }
}

async function runRollback(view) {
  const reason = view.reason.trim();
  if (!reason) {
    paintRollback(view, { error: 'Give a reason: it is recorded in the audit log.' });
    return;
  }
  paintRollback(view, { note: 'Rolling back…', running: true });
  try {
    const { report } = await rollbackRequest(view, { reason, force: view.force });
    view.report = report;
    paintRollback(view);
  } catch (error) {
    const details = error instanceof ApiFailure ? error.details : undefined;
    if (details?.report) view.report = details.report;
    if (details?.plan) view.plan = details.plan;
    paintRollback(view, { error: error.message });
  }
  render(); // the timeline behind the dialog: what was undone
}

function paintRollback(view, { note, error, running, focus } = {}) {
  const { dialog, plan } = view;
  const undo = plan ? plan.calls.filter((call) => call.status === 'undo').length : 0;
  const conflicts = plan?.conflicts ?? [];
  const done = view.report !== undefined;
  const parts = [
    h('h2', { id: 'rollback-title' }, `Roll back session ${view.sessionId}`),
    done
      ? null
      : h(
          'p',
          { class: 'muted' },
          'Nothing has changed yet: this is the plan, newest call first. Choose the last call to keep, give a reason, then confirm. Each undo runs through the gateway and is recorded.',
        ),
    view.all ? rollbackPlan(view) : null,
    conflicts.length > 0 && !done ? rollbackConflicts(view, conflicts) : null,
    done ? rollbackReport(view.report) : null,
    note ? h('p', { class: 'muted', role: 'status' }, note) : null,
    error ? h('p', { class: 'rollback-error', role: 'alert', testid: 'rollback-error' }, error) : null,
    done
      ? null
      : h('input', {
          class: 'reason',
          type: 'text',
          name: 'rollback-reason',
          key: 'rollback-reason',
          value: view.reason,
          placeholder: 'Reason for the rollback (recorded)',
          'aria-label': 'Reason for the rollback (recorded)',
          oninput: (event) => {
            view.reason = event.target.value;
          },
        }),
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'button', onclick: () => closeRollback() }, done ? 'Close' : 'Cancel'),
      done
        ? null
        : h(
            'button',
            {
              type: 'button',
              class: 'danger',
              testid: 'rollback-confirm',
              disabled: running || undo === 0 || (conflicts.length > 0 && !view.force),
              onclick: () => runRollback(view),
            },
            `Roll back ${count(undo, 'call')}`,
          ),
    ),
  ];
  dialog.replaceChildren(...parts.filter(Boolean));
  if (focus) dialog.querySelector(`[data-key="${CSS.escape(focus)}"]`)?.focus();
}

/** Every call of the first plan; those the current rollback point keeps are marked `kept`. */
function rollbackPlan(view) {
  const planned = new Map(view.plan.calls.map((call) => [call.decisionId, call]));
  const choice = (decisionId, label) =>
    h(
      'label',
      { class: 'keep' },
      h('input', {
        type: 'radio',
        name: 'rollback-to',
        key: `to:${decisionId ?? ''}`,
        checked: view.to === decisionId,
        disabled: view.report !== undefined,
        onchange: () => keepUpTo(view, decisionId),
      }),
      ` ${label}`,
    );
  return h(
    'fieldset',
    { class: 'plan', testid: 'rollback-plan' },
    h('legend', {}, 'What would be undone'),
    view.all.calls.length === 0 ? h('p', { class: 'muted' }, 'No call of this session ran.') : null,
    view.all.calls.map((call) => {
      const current = planned.get(call.decisionId);
      const clashes = (view.plan.conflicts ?? []).filter(
        (conflict) => conflict.decisionId === call.decisionId,
      );
      const status = current ? current.status : 'kept';
      return h(
        'section',
        {
          class: `plan-call ${current ? '' : 'kept'} ${clashes.length > 0 ? 'conflict' : ''}`,
          testid: 'plan-call',
        },
        h(
          'div',
          { class: 'row' },
          h('span', { class: 'step-time', title: when(call.time) }, shortWhen(call.time)),
          h('strong', { testid: 'plan-tool' }, `${call.tool.server}/${call.tool.name}`),
          h('span', { class: `badge ${status}`, testid: 'plan-status' }, status),
          (current ?? call).reason ? h('span', { class: 'muted' }, (current ?? call).reason) : null,
          h('span', { class: 'spacer' }),
          choice(call.decisionId, 'Keep up to this call'),
        ),
        current && current.steps.length > 0
          ? h(
              'ol',
              { class: 'plan-steps' },
              current.steps.map((step) =>
                h(
                  'li',
                  { testid: 'plan-step' },
                  h('code', {}, step.tool),
                  ' ',
                  step.withheld
                    ? h('span', { class: 'muted' }, `(arguments withheld: ${step.withheld})`)
                    : h(
                        'span',
                        { class: 'plan-args', title: JSON.stringify(step.args) },
                        shortArgs(step.args),
                      ),
                ),
              ),
            )
          : null,
        clashes.map((conflict) =>
          h(
            'p',
            { class: 'conflict-note', testid: 'plan-conflict' },
            `Conflict: undoing it would overwrite ${conflict.resource}, changed since by session ${conflict.other.sessionId} (agent ${conflict.other.agentId}, ${conflict.other.tool.server}/${conflict.other.tool.name} ${conflict.other.decisionId}, ${when(conflict.other.time)}).`,
          ),
        ),
      );
    }),
    view.all.calls.length > 0 ? choice(undefined, 'Undo them all') : null,
  );
}

/** `path="…/config.yaml", content="replicas: 3…"`: one line, each value shortened. */
function shortArgs(args) {
  return Object.entries(args)
    .map(([name, value]) => {
      const text = JSON.stringify(value) ?? 'undefined';
      return `${name}=${text.length > 120 ? `${text.slice(0, 117)}…` : text}`;
    })
    .join(', ');
}

function rollbackConflicts(view, conflicts) {
  const sessions = [...new Set(conflicts.map((conflict) => conflict.other.sessionId))];
  return h(
    'div',
    { class: 'conflicts', role: 'alert', testid: 'rollback-conflicts' },
    h(
      'p',
      {},
      `${count(conflicts.length, 'change')} by other sessions since (${sessions.join(', ')}) would be overwritten. Check them before you go on.`,
    ),
    h(
      'label',
      {},
      h('input', {
        type: 'checkbox',
        checked: view.force,
        onchange: (event) => {
          view.force = event.target.checked;
          paintRollback(view);
        },
      }),
      ' Overwrite their changes (force)',
    ),
  );
}

function rollbackReport(report) {
  return h(
    'section',
    { class: 'card', testid: 'rollback-report' },
    h('div', { class: 'row' }, badge(report.complete ? 'ok' : 'error'), h('span', {}, report.message)),
    h(
      'ul',
      {},
      report.results.map((result) =>
        h(
          'li',
          { testid: 'report-result' },
          h('strong', {}, result.tool),
          ' ',
          h('span', { class: 'muted' }, result.decisionId),
          ' ',
          badge(result.status),
          result.detail ? ` ${result.detail}` : '',
          result.compensations.length > 0 ? ` (${count(result.compensations.length, 'step')} run)` : '',
        ),
      ),
    ),
  );
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
    dashboard: () =>
      viewDashboard(
        { h, api, badge, count, when, go },
        route.params,
        render,
        () => currentRoute().view === 'dashboard',
      ),
    posture: () => viewPosture({ h, api, badge, count, definitions, when, go }, route.params),
    monitor: () => viewMonitor({ h, api, badge, count, definitions, when, go, render }),
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
  offerProviderSignIn(form);
}

/**
 * "Sign in with <provider>" above the token form, when the server has OpenID Connect sign-in
 * (`control.oidc`). The button leaves for a fixed path of this server, which redirects to the provider;
 * the provider's name is only ever text.
 */
async function offerProviderSignIn(form) {
  const config = await fetch('/v1/auth/oidc/config', { headers: { accept: 'application/json' } })
    .then((response) => (response.ok ? response.json() : undefined))
    .catch(() => undefined);
  if (!config?.enabled || !form.isConnected) return;
  const button = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      testid: 'oidc-sign-in',
      onclick: () => window.location.assign('/v1/auth/oidc/login'),
    },
    `Sign in with ${config.name}`,
  );
  // on a shared machine the provider's session can outlive the console's (an expired session shows
  // this page): ending it here keeps the next "Sign in with…" from silently signing its person in
  const signOut = h(
    'button',
    { type: 'button', testid: 'oidc-sign-out', onclick: () => endProviderSession() },
    `Sign out of ${config.name}`,
  );
  form
    .querySelector('h1')
    ?.after(h('p', { class: 'provider-sign-in' }, button, ' ', signOut), h('p', { class: 'muted' }, 'or'));
}

/**
 * Ends the Reins session (if any) and goes to the provider's end-session URL when the server names
 * one (also after the Reins session already ended); false when there is none to go to.
 */
async function endProviderSession() {
  const ended = await api('POST', '/v1/auth/oidc/logout').catch(() => undefined);
  if (typeof ended?.endSessionUrl === 'string' && /^https?:\/\//.test(ended.endSessionUrl)) {
    window.location.assign(ended.endSessionUrl);
    return true;
  }
  return false;
}

async function start() {
  document.getElementById('logout').addEventListener('click', async () => {
    // a session opened at the identity provider ends there too (the server names the provider's URL,
    // also when the Reins session had already ended)
    if (!(await endProviderSession())) showLogin('Logged out.');
  });
  window.addEventListener('hashchange', () => {
    closeRollback(); // the dialog belongs to the session it was opened on
    render();
  });
  try {
    const me = await api('GET', '/v1/me');
    signedIn(me.user, me.csrfToken);
  } catch {
    showLogin();
  }
}

start();
