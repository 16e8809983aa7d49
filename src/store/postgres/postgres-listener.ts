/**
 * @module store/postgres/postgres-listener
 * One dedicated `LISTEN` connection for a store's change channel, shared by the identity and
 * oversight stores. A notification on the channel, and every (re)connection, call `wake`: the store
 * then reads its change table, which is the source of truth, so nothing is lost while the connection
 * is down. A failed or silently dead connection is replaced with exponential backoff; a broken
 * connection never ends the process.
 */
import { Client } from 'pg';
import { quoteIdentifier } from './postgres-migrations.js';

export interface PostgresListenerOptions {
  readonly connectionString: string;
  readonly channel: string;
  /** Called on every notification and after every (re)connection. Must not throw. */
  readonly wake: () => void;
  readonly connectTimeoutMs?: number;
  /** How often the connection is checked (a silently dead one is replaced). Default 15,000 ms. */
  readonly healthCheckMs?: number;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 5_000;

export class PostgresListener {
  private client: Client | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = RECONNECT_MIN_MS;
  private readonly healthTimer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly options: PostgresListenerOptions) {
    this.healthTimer = setInterval(() => void this.check(), options.healthCheckMs ?? 15_000);
    this.healthTimer.unref();
  }

  /** Connects and listens; rejects if the first connection fails (the store then fails to open). */
  async start(): Promise<void> {
    const client = new Client({
      connectionString: this.options.connectionString,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 10_000,
      keepAlive: true,
      application_name: 'reins-listen',
      // a half-open connection (lost network) must fail the health check rather than hang it
      query_timeout: 10_000,
    });
    client.on('error', () => this.replace(client));
    client.on('end', () => this.replace(client));
    client.on('notification', (message) => {
      if (message.channel === this.options.channel) this.options.wake();
    });
    this.client = client;
    try {
      await client.connect();
      await client.query(`listen ${quoteIdentifier(this.options.channel)}`);
    } catch (error) {
      this.client = undefined;
      await client.end().catch(() => {});
      throw error;
    }
    this.reconnectDelay = RECONNECT_MIN_MS;
    // whatever was committed while no connection was listening
    this.options.wake();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.healthTimer);
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  /** Drops a failed connection (once) and schedules its replacement. */
  private replace(client: Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    client.end().catch(() => {});
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer !== undefined) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closed) this.start().catch(() => this.scheduleReconnect());
    }, delay);
    this.reconnectTimer.unref();
  }

  private async check(): Promise<void> {
    const client = this.client;
    if (client === undefined) return;
    try {
      await client.query('select 1');
    } catch {
      this.replace(client);
    }
  }
}

/**
 * Runs a store's catch-up passes one at a time. A request starts a pass after the one running, and
 * requests made while a pass waits share it; the promise resolves when that pass is done (a failed
 * pass is swallowed: the next one retries from the same point).
 */
export class CatchUpPasses {
  private requested: Promise<void> | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly stopped: () => boolean,
  ) {}

  request(): Promise<void> {
    this.requested ??= this.running.then(() => {
      this.requested = undefined;
      const pass = this.stopped() ? Promise.resolve() : this.pass().catch(() => {});
      this.running = pass;
      return pass;
    });
    return this.requested;
  }

  /** Resolves once the pass in flight (if any) is over. */
  settled(): Promise<void> {
    return this.running;
  }
}
