/**
 * @module examples/demo/review-site
 * The storefront of the "review-response chain" scenario: one product's reviews (a troll campaign among
 * genuine ones), the public page replies are published on, and the chain's three tools. All in memory.
 */
import type { ToolExecutor } from 'reins';
import { sentimentScore } from './sentiment-lexicon.js';

export const PRODUCT = 'Aurora desk lamp';

export interface Review {
  readonly id: string;
  readonly stars: number;
  readonly author: string;
  readonly text: string;
  /** Part of the troll campaign. Known to the narrator only; the chain cannot tell. */
  readonly fake: boolean;
}

// Five one-star reviews from accounts created the same night, interleaved with three genuine ones.
export const REVIEWS: readonly Review[] = [
  {
    id: 'r-1',
    stars: 5,
    author: 'Priya N.',
    text: 'Lovely warm light and a sturdy base. It arrived quickly and I am very happy with it.',
    fake: false,
  },
  {
    id: 'r-2',
    stars: 1,
    author: 'user8812',
    text: 'SCAM. Broke after one day. Worst purchase ever, avoid this company!',
    fake: true,
  },
  {
    id: 'r-3',
    stars: 4,
    author: 'Tom H.',
    text: 'Good lamp for the price. The switch feels a bit cheap but the light is great.',
    fake: false,
  },
  {
    id: 'r-4',
    stars: 1,
    author: 'lampfan_2',
    text: 'Terrible quality and dangerous wiring. Total scam, avoid!',
    fake: true,
  },
  {
    id: 'r-5',
    stars: 1,
    author: 'dealz4u',
    text: 'Worst lamp ever. Broken on arrival. Awful, useless, scam.',
    fake: true,
  },
  {
    id: 'r-6',
    stars: 3,
    author: 'Alex R.',
    text: 'Does the job. The assembly instructions were confusing, but it works fine now.',
    fake: false,
  },
  {
    id: 'r-7',
    stars: 1,
    author: 'n0body',
    text: 'Avoid! Terrible company, fake product, complete scam.',
    fake: true,
  },
  {
    id: 'r-8',
    stars: 1,
    author: 'truthteller99',
    text: 'Awful. Broke immediately and the refund was refused. Scam scam scam.',
    fake: true,
  },
];

/** Below this score the draft apologises and offers a refund (and the policy holds the post). */
export const NEGATIVE_THRESHOLD = -0.3;

export interface PublishedReply {
  readonly reviewId: string;
  readonly text: string;
}

export type ReviewToolName = 'reviews.analyse' | 'reviews.draft' | 'reviews.post';

export interface ReviewSite {
  /** What every shopper sees under the reviews. */
  readonly publicPage: PublishedReply[];
  readonly tools: Record<ReviewToolName, ToolExecutor>;
}

function reviewFor(args: Record<string, unknown>): Review {
  const review = REVIEWS.find((candidate) => candidate.id === args.reviewId);
  if (review === undefined) throw new Error(`no review \`${String(args.reviewId)}\``);
  return review;
}

function sentimentOf(args: Record<string, unknown>): number {
  if (typeof args.sentiment !== 'number') throw new Error('`sentiment` must be a number');
  return args.sentiment;
}

/** The reply the chain drafts: an apology with a refund for negative reviews, thanks otherwise. */
export function draftReply(review: Review, sentiment: number): string {
  if (sentiment < NEGATIVE_THRESHOLD) {
    return `We are so sorry about your experience with the ${PRODUCT}. This is not the standard we hold ourselves to: please contact us and we will refund you in full.`;
  }
  if (sentiment > 0.3) return `Thank you, ${review.author}! We are glad you enjoy the ${PRODUCT}.`;
  return `Thanks for the honest feedback, ${review.author}. We have passed it on to the product team.`;
}

export function createReviewSite(): ReviewSite {
  const publicPage: PublishedReply[] = [];
  return {
    publicPage,
    tools: {
      /** `{ reviewId }` -> `{ sentiment }`. */
      'reviews.analyse': async (args) => ({ sentiment: sentimentScore(reviewFor(args).text) }),
      /** `{ reviewId, sentiment }` -> `{ text }`: an internal draft, visible to nobody yet. */
      'reviews.draft': async (args) => ({ text: draftReply(reviewFor(args), sentimentOf(args)) }),
      /** `{ reviewId, sentiment, text }`: publishes `text` under the review. */
      'reviews.post': async (args) => {
        const review = reviewFor(args);
        if (typeof args.text !== 'string') throw new Error('`text` must be a string');
        publicPage.push({ reviewId: review.id, text: args.text });
        return { published: true };
      },
    },
  };
}
