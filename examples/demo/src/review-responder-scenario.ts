/**
 * @module examples/demo/review-responder-scenario
 * Scenario 2, "review-response chain": analyse -> draft -> post answers every product review. A troll
 * campaign floods the product with one-star fakes, and the chain publishes an apology with a refund
 * offer under each. With Reins (examples/demo/review-responder.yaml) a reply to a strongly negative
 * review is held for a human; in the demo the on-call human never answers, so the hold expires and
 * nothing is published. A sequence rule also refuses any post that was not drafted first.
 */
import { type ApprovalHandler, Harness, type Principal, type ToolRef } from 'reins';
import { directInvoker, governedInvoker, type InvokeTool, toolLabel } from './agent-invokers.js';
import { printAuditTrail } from './audit-trail.js';
import {
  banner,
  decisionLine,
  detailLine,
  plural,
  section,
  shortHash,
  stars,
  truncate,
  wrap,
  writeAll,
} from './demo-output.js';
import { loadDemoPolicy } from './demo-policy.js';
import {
  check,
  type DemoCheck,
  type GovernedCall,
  type ScenarioAudit,
  type ScenarioContext,
} from './demo-scenario.js';
import { demoSession } from './demo-sessions.js';
import {
  createReviewSite,
  NEGATIVE_THRESHOLD,
  PRODUCT,
  type PublishedReply,
  REVIEWS,
  type Review,
} from './review-site.js';
import { sentimentScore } from './sentiment-lexicon.js';

const PRINCIPAL: Principal = {
  agentId: 'review-responder',
  roles: ['marketing'],
  owner: 'lee@example.com',
  delegatedBy: [],
  parentSessions: [],
};
const ANALYSE: ToolRef = { server: 'storefront', name: 'reviews.analyse' };
const DRAFT: ToolRef = { server: 'storefront', name: 'reviews.draft' };
const POST: ToolRef = { server: 'storefront', name: 'reviews.post' };
const TOOL_WIDTH = 26;
/** How long the demo waits for the on-call human (the harness default is 5 minutes). */
const APPROVAL_TIMEOUT_MS = 50;

/** A call the policy held, as it reached the approvers' inbox. */
export interface HeldRequest {
  readonly decisionId: string;
  readonly reviewId: string;
  readonly callHash: string;
  readonly reasons: readonly string[];
}

export interface ReviewResponderResult {
  readonly withoutReins: {
    readonly published: readonly PublishedReply[];
  };
  readonly withReins: {
    readonly published: readonly PublishedReply[];
    /** Everything that reached the on-call human's inbox (and expired there). */
    readonly held: readonly HeldRequest[];
    /** The post that skipped the draft step. */
    readonly shortcut: GovernedCall | undefined;
    readonly calls: readonly GovernedCall[];
  };
  readonly audit: ScenarioAudit;
  readonly checks: readonly DemoCheck[];
}

function formatSentiment(value: number): string {
  return value.toFixed(2);
}

/**
 * The chain for one review, scripted: analyse, draft from the score, post the draft. Identical with
 * and without Reins. The score travels with the post so the policy can see it.
 */
async function answerReview(invoke: InvokeTool, review: Review): Promise<void> {
  const analysed = await invoke({
    tool: ANALYSE,
    args: { reviewId: review.id },
    describe: (output) => `sentiment ${formatSentiment((output as { sentiment: number }).sentiment)}`,
  });
  if (!analysed.ran) return;
  const { sentiment } = analysed.output as { sentiment: number };
  const drafted = await invoke({
    tool: DRAFT,
    args: { reviewId: review.id, sentiment },
    describe: (output) => `"${truncate((output as { text: string }).text, 32)}"`,
  });
  if (!drafted.ran) return;
  const { text } = drafted.output as { text: string };
  await invoke({
    tool: POST,
    args: { reviewId: review.id, sentiment, text },
    describe: () => 'published on the product page',
  });
}

function reviewHeading(review: Review): string {
  return `  ${review.id}  ${stars(review.stars)}  ${review.author}: "${truncate(review.text, 72)}"`;
}

/**
 * The on-call human, who has not answered yet: the request lands in the inbox and the promise settles
 * only when the harness stops waiting, so the call expires and the reply is not published.
 */
function unansweredInbox(inbox: HeldRequest[], write: (line: string) => void): ApprovalHandler {
  return (request, signal) => {
    inbox.push({
      decisionId: request.decisionId,
      reviewId: String(request.call.args.reviewId),
      callHash: request.callHash,
      reasons: request.decision.reasons,
    });
    write(
      decisionLine(
        'HOLD',
        toolLabel(request.call.tool),
        TOOL_WIDTH,
        request.call.principal.agentId,
        request.decision.reasons.join('; '),
      ),
    );
    write(
      detailLine(`HELD for approval: call ${shortHash(request.callHash)} is in the on-call human's inbox`),
    );
    // Nobody answers in the demo: the harness's expiry ends the wait.
    return new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  };
}

export async function runReviewResponderScenario(context: ScenarioContext): Promise<ReviewResponderResult> {
  const { write } = context;
  const { policy, displayPath } = loadDemoPolicy('review-responder.yaml', context.policyDirectory);
  const fakes = REVIEWS.filter((review) => review.fake);
  writeAll(write, banner('Scenario 2: review-response chain'));
  write(
    `A chain (agent ${PRINCIPAL.agentId}, owner ${PRINCIPAL.owner ?? '?'}) answers every review of the ${PRODUCT}:`,
  );
  write(
    'analyse (sentiment score) -> draft (a reply) -> post (on the public product page). Overnight a troll',
  );
  write(
    `campaign left ${plural(fakes.length, 'one-star review')} from accounts created that day, among ${plural(REVIEWS.length - fakes.length, 'genuine one')}.`,
  );
  write(
    '(The sentiment score comes from a small word list standing in for a model, so every run is the same.)',
  );

  writeAll(write, section('Without Reins: the chain calls its tools directly'));
  const bareSite = createReviewSite();
  const bareInvoke = directInvoker({
    principal: PRINCIPAL,
    tools: bareSite.tools,
    // the chain's 24 tool calls would drown the point; the public page below is what matters
    write: () => {},
    toolWidth: TOOL_WIDTH,
  });
  for (const review of REVIEWS) await answerReview(bareInvoke, review);
  const apologies = bareSite.publicPage.filter(
    (reply) => REVIEWS.find((review) => review.id === reply.reviewId)?.fake,
  );
  write(
    `  ${plural(bareSite.publicPage.length, 'reply', 'replies')} published for ${plural(REVIEWS.length, 'review')}, ${apologies.length} of them under the fake ones (${apologies.map((reply) => reply.reviewId).join(', ')}). For example:`,
  );
  let previousText: string | undefined;
  for (const reply of apologies.slice(0, 2)) {
    const review = REVIEWS.find((candidate) => candidate.id === reply.reviewId);
    if (review !== undefined) write(`    under ${reviewHeading(review).trim()}`);
    if (reply.text === previousText) {
      write('      reply: (the same apology and refund offer)');
    } else {
      const [first, ...rest] = wrap(`"${reply.text}"`, 90);
      write(`      reply: ${first ?? ''}`);
      for (const line of rest) write(`             ${line}`);
    }
    previousText = reply.text;
  }
  if (apologies.length > 0) {
    write('  => every shopper now sees the shop admit fault and promise refunds to a troll campaign');
  }

  writeAll(write, section('With Reins: the same chain, every call through Harness.call'));
  write(`  policy ${displayPath} (sha256:${shortHash(policy.hash)}), session reviews-aurora-desk-lamp`);
  write(
    `  (the on-call human gets ${APPROVAL_TIMEOUT_MS} ms to answer in this demo; the harness default is 5 minutes)`,
  );
  const site = createReviewSite();
  const held: HeldRequest[] = [];
  const calls: GovernedCall[] = [];
  const harness = new Harness({
    policy: { current: policy },
    audit: context.audit,
    approvals: unansweredInbox(held, write),
    approvalTimeoutMs: APPROVAL_TIMEOUT_MS,
  });
  const base = { principal: PRINCIPAL, tools: site.tools, write, toolWidth: TOOL_WIDTH, harness, calls };
  const invoke = governedInvoker({ ...base, sessionId: demoSession('reviews-aurora-desk-lamp') });
  for (const review of REVIEWS) {
    write(reviewHeading(review));
    await answerReview(invoke, review);
  }

  // The sequence rule at work: a quick-reply script (its own session) posts a canned thank-you
  // without the draft step.
  const first = REVIEWS[0] as Review;
  write(
    `  finally, a quick-reply script posts a canned thank-you under ${first.id} in its own session, skipping the draft:`,
  );
  const callsBefore = calls.length;
  await governedInvoker({ ...base, sessionId: demoSession('quick-replies') })({
    tool: POST,
    args: { reviewId: first.id, sentiment: sentimentScore(first.text), text: 'Thanks for your review!' },
    describe: () => 'published on the product page',
  });
  const shortcut = calls[callsBefore];

  const publishedIds = site.publicPage.map((reply) => reply.reviewId);
  write('');
  write(
    `  public page: ${plural(site.publicPage.length, 'reply', 'replies')} published (${publishedIds.join(', ') || 'none'})`,
  );
  write(
    `  held for approval, not published: ${held.length} (${held.map((request) => request.reviewId).join(', ') || 'none'}); still waiting in the inbox for a human`,
  );
  write(`  shortcut post without a draft: ${shortcut?.effect === 'deny' ? 'denied' : 'NOT denied'}`);

  const audit = await printAuditTrail(context, new Set(calls.map((call) => call.decisionId)), {
    showTools: new Set([toolLabel(POST)]),
  });
  const result = {
    withoutReins: { published: bareSite.publicPage },
    withReins: { published: site.publicPage, held, shortcut, calls },
    audit,
  };
  return { ...result, checks: reviewResponderChecks(result) };
}

/** The expectations, computed from the reviews and what happened, not from printed text. */
function reviewResponderChecks(result: Omit<ReviewResponderResult, 'checks'>): DemoCheck[] {
  const { withoutReins, withReins, audit } = result;
  const negative = REVIEWS.filter((review) => sentimentScore(review.text) < NEGATIVE_THRESHOLD);
  const calm = REVIEWS.filter((review) => !negative.includes(review));
  const fakes = REVIEWS.filter((review) => review.fake);
  const publishedUnder = (page: readonly PublishedReply[], review: Review) =>
    page.some((reply) => reply.reviewId === review.id);
  const heldPosts = withReins.calls.filter(
    (call) => call.tool === toolLabel(POST) && call.effect === 'approve' && call.outcome === 'expired',
  );
  return [
    check(
      'scenario 2 without Reins: every fake review got a public reply',
      fakes.length > 0 && fakes.every((review) => publishedUnder(withoutReins.published, review)),
    ),
    check(
      'scenario 2 with Reins: every reply to a strongly negative review was held, and expired unpublished',
      negative.length > 0 &&
        heldPosts.length === negative.length &&
        negative.every(
          (review) =>
            withReins.held.some((request) => request.reviewId === review.id) &&
            !publishedUnder(withReins.published, review),
        ),
    ),
    check(
      'scenario 2 with Reins: no fake review got a public reply',
      fakes.every((review) => !publishedUnder(withReins.published, review)),
    ),
    check(
      'scenario 2 with Reins: replies to the positive and neutral reviews were published',
      calm.length > 0 && calm.every((review) => publishedUnder(withReins.published, review)),
    ),
    check(
      'scenario 2 with Reins: the post that skipped the draft was denied by the sequence rule',
      withReins.shortcut?.effect === 'deny' &&
        withReins.shortcut.outcome === 'denied' &&
        withReins.shortcut.matchedRules.includes('post-only-drafted-replies'),
    ),
    check(
      'scenario 2 with Reins: every call has an intent and an outcome record, and the chain verifies',
      audit.completeCalls === withReins.calls.length &&
        audit.records === 2 * withReins.calls.length &&
        audit.chain.ok,
    ),
  ];
}
