/**
 * @module test/support/oidc-provider
 * The few parts of `oidc-provider` 8 (a dev dependency that ships no type declarations) that
 * test/support/oidc-idp.ts uses, typed loosely: it is test scaffolding, not an API Reins relies on.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  // biome-ignore lint/suspicious/noExplicitAny: the provider's configuration is large and untyped here
  export type Configuration = Record<string, any>;

  interface KoaContext {
    readonly path: string;
    body: unknown;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    use(middleware: (context: KoaContext, next: () => Promise<void>) => Promise<void>): void;
    callback(): (request: IncomingMessage, response: ServerResponse) => void;
    interactionDetails(request: IncomingMessage, response: ServerResponse): Promise<{ uid: string }>;
    interactionFinished(
      request: IncomingMessage,
      response: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
  }
}
