/**
 * @module memory/memory-guard
 * Memory hygiene in front of `@modelcontextprotocol/server-memory` (a knowledge graph of entities,
 * observations and relations, stored as plain text):
 * - tenant isolation by name: every entity name is stored as `<tenant>/<name>`; a reader only ever sees,
 *   opens or changes names under its own tenant, and sees them without the prefix;
 * - scope and age by label: each entity, observation and relation written through the guard is
 *   labelled (tenant, owner, agent, time) in a Reins-side index; reads return only entries whose label
 *   is visible to the reader (same tenant, and same owner or agent when `share` says so) and younger
 *   than the retention; unlabelled entries (written around Reins) are never shown;
 * - purge by label, age or pattern.
 * Secrets never reach the guard: the harness redacts (or holds) memory writes at decision time, by the
 * policy's `memory:` section, before this executor runs.
 *
 * Usable as a library: `guard.call(principal, settings, tool, args, send)` where `send` calls the
 * memory server (the gateway passes its upstream).
 */
import { createHash } from 'node:crypto';
import type { LabelledKey, MemoryLabel, MemoryLabelIndex } from '../spec/memory-labels.js';
import type { Principal } from '../spec/tool-call.js';

export interface MemoryGuardSettings {
  readonly share: 'tenant' | 'owner' | 'agent';
  /** Milliseconds after which an entry is no longer returned. */
  readonly retention?: number | undefined;
}

/** Calls a tool of the memory server and returns its MCP result. */
export type SendTool = (name: string, args: Record<string, unknown>) => Promise<unknown>;

interface Entity {
  name: string;
  entityType: string;
  observations: string[];
}
interface Relation {
  from: string;
  to: string;
  relationType: string;
}
interface Graph {
  entities: Entity[];
  relations: Relation[];
}

/** Who is reading or writing, as the guard compares it with labels. */
export interface MemoryReader {
  readonly tenant: string;
  readonly owner?: string;
  readonly agent: string;
}

export interface PurgeCriteria {
  readonly tenant?: string;
  readonly owner?: string;
  readonly agent?: string;
  /** Entries written before this time (epoch ms). */
  readonly before?: number;
  /** Observations (and entity names) containing this text, case-insensitively. */
  readonly pattern?: string;
}

export interface PurgeResult {
  readonly entities: number;
  readonly observations: number;
}

const TENANT_ROLE = 'tenant:';
const TENANT_PATTERN = /^[A-Za-z0-9._@:+-]{1,128}$/;

/**
 * The principal's tenant: its one `tenant:<x>` role; without one, its owner (`owner:<owner>`) or
 * itself (`agent:<id>`) — a principal nobody placed in a tenant shares memory with nobody else.
 */
export function readerOf(principal: Principal): MemoryReader {
  const roles = principal.roles.filter((role) => role.startsWith(TENANT_ROLE));
  if (roles.length > 1)
    throw new Error(`agent \`${principal.agentId}\` has several tenant roles: memory refused`);
  const tenant =
    roles.length === 1
      ? (roles[0] as string).slice(TENANT_ROLE.length)
      : principal.owner !== undefined
        ? `owner:${principal.owner}`
        : `agent:${principal.agentId}`;
  if (!TENANT_PATTERN.test(tenant))
    throw new Error(`tenant \`${tenant}\` is not a valid tenant name: memory refused`);
  return {
    tenant,
    agent: principal.agentId,
    ...(principal.owner !== undefined ? { owner: principal.owner } : {}),
  };
}

const entityKey = (stored: string) => JSON.stringify(['e', stored]);
const observationKey = (stored: string, text: string) =>
  JSON.stringify(['o', stored, createHash('sha256').update(text).digest('base64url')]);
const relationKey = (relation: Relation) =>
  JSON.stringify(['r', relation.from, relation.to, relation.relationType]);

export class MemoryGuard {
  constructor(
    private readonly index: MemoryLabelIndex,
    private readonly clock: () => number = Date.now,
  ) {}

  /** One tool call of a memory server on behalf of `principal`. Throws (the call fails) on anything unexpected. */
  async call(
    principal: Principal,
    settings: MemoryGuardSettings,
    tool: string,
    args: Record<string, unknown>,
    send: SendTool,
  ): Promise<unknown> {
    const reader = readerOf(principal);
    const call = new GuardedCall(this.index, reader, settings, this.clock(), send);
    switch (tool) {
      case 'create_entities':
        return call.createEntities(args);
      case 'create_relations':
        return call.createRelations(args);
      case 'add_observations':
        return call.addObservations(args);
      case 'delete_entities':
        return call.deleteEntities(args);
      case 'delete_observations':
        return call.deleteObservations(args);
      case 'delete_relations':
        return call.deleteRelations(args);
      case 'read_graph':
        return call.readGraph();
      case 'search_nodes':
        return call.searchNodes(args);
      case 'open_nodes':
        return call.openNodes(args);
      default:
        throw new Error(`the memory guard does not know the tool \`${tool}\`, so it is refused`);
    }
  }

  /**
   * Deletes, from the memory server and the index, every labelled entry matching all given criteria.
   * At least one criterion is required: purging everything is not a default.
   */
  async purge(criteria: PurgeCriteria, send: SendTool): Promise<PurgeResult> {
    if (Object.values(criteria).every((value) => value === undefined))
      throw new Error('purge needs at least one criterion (tenant, owner, agent, before or pattern)');
    const graph = graphOf(await send('read_graph', {}));
    const pattern = criteria.pattern?.toLowerCase();
    const matches = (label: MemoryLabel | undefined) =>
      label !== undefined &&
      (criteria.tenant === undefined || label.tenant === criteria.tenant) &&
      (criteria.owner === undefined || label.owner === criteria.owner) &&
      (criteria.agent === undefined || label.agent === criteria.agent) &&
      (criteria.before === undefined || label.at < criteria.before);
    const keys: string[] = [];
    for (const entity of graph.entities) {
      keys.push(entityKey(entity.name));
      for (const text of entity.observations) keys.push(observationKey(entity.name, text));
    }
    const labels = await this.index.get(keys);
    const deadEntities: string[] = [];
    const deletions: { entityName: string; observations: string[] }[] = [];
    const removedKeys: string[] = [];
    for (const entity of graph.entities) {
      const key = entityKey(entity.name);
      const observationKeys = entity.observations.map((text) => observationKey(entity.name, text));
      if (
        matches(labels.get(key)) &&
        (pattern === undefined || entity.name.toLowerCase().includes(pattern))
      ) {
        deadEntities.push(entity.name);
        removedKeys.push(key, ...observationKeys);
        continue;
      }
      const dead = entity.observations.filter(
        (text, position) =>
          matches(labels.get(observationKeys[position] as string)) &&
          (pattern === undefined || text.toLowerCase().includes(pattern)),
      );
      if (dead.length === 0) continue;
      deletions.push({ entityName: entity.name, observations: dead });
      removedKeys.push(...dead.map((text) => observationKey(entity.name, text)));
    }
    if (deletions.length > 0) checkResult(await send('delete_observations', { deletions }));
    if (deadEntities.length > 0) checkResult(await send('delete_entities', { entityNames: deadEntities }));
    await this.index.remove(removedKeys);
    return {
      entities: deadEntities.length,
      observations: deletions.reduce((sum, deletion) => sum + deletion.observations.length, 0),
    };
  }
}

/** One call: the reader, the time and the label index, with the name and visibility rules. */
class GuardedCall {
  private readonly prefix: string;

  constructor(
    private readonly index: MemoryLabelIndex,
    private readonly reader: MemoryReader,
    private readonly settings: MemoryGuardSettings,
    private readonly now: number,
    private readonly send: SendTool,
  ) {
    this.prefix = `${reader.tenant}/`;
  }

  async createEntities(args: Record<string, unknown>): Promise<unknown> {
    const entities = listOf(args.entities, 'entities', isEntity).map((entity) => ({
      ...entity,
      name: this.stored(entity.name),
    }));
    const result = await this.send('create_entities', { entities });
    if (isError(result)) return this.stripError(result);
    const created = listOf(structured(result).entities, 'entities', isEntity);
    const labels: LabelledKey[] = [];
    for (const entity of created) {
      labels.push(this.labelled(entityKey(entity.name)));
      for (const text of entity.observations) labels.push(this.labelled(observationKey(entity.name, text)));
    }
    await this.index.label(labels);
    return respond({ entities: created.map((entity) => this.shownEntity(entity)) });
  }

  async createRelations(args: Record<string, unknown>): Promise<unknown> {
    const relations = listOf(args.relations, 'relations', isRelation).map((relation) => ({
      ...relation,
      from: this.stored(relation.from),
      to: this.stored(relation.to),
    }));
    await this.requireVisibleEntities(relations.flatMap((relation) => [relation.from, relation.to]));
    const result = await this.send('create_relations', { relations });
    if (isError(result)) return this.stripError(result);
    const created = listOf(structured(result).relations, 'relations', isRelation);
    await this.index.label(created.map((relation) => this.labelled(relationKey(relation))));
    return respond({ relations: created.map((relation) => this.shownRelation(relation)) });
  }

  async addObservations(args: Record<string, unknown>): Promise<unknown> {
    const observations = listOf(args.observations, 'observations', isObservationAddition).map((addition) => ({
      entityName: this.stored(addition.entityName),
      contents: addition.contents,
    }));
    await this.requireVisibleEntities(observations.map((addition) => addition.entityName));
    const result = await this.send('add_observations', { observations });
    if (isError(result)) return this.stripError(result);
    const added = listOf(structured(result).results, 'results', isAddedObservations);
    await this.index.label(
      added.flatMap((entry) =>
        entry.addedObservations.map((text) => this.labelled(observationKey(entry.entityName, text))),
      ),
    );
    return respond({
      results: added.map((entry) => ({
        entityName: this.shown(entry.entityName),
        addedObservations: entry.addedObservations,
      })),
    });
  }

  async deleteEntities(args: Record<string, unknown>): Promise<unknown> {
    const names = listOf(args.entityNames, 'entityNames', isString).map((name) => this.stored(name));
    const raw = graphOf(await this.send('open_nodes', { names }));
    const graph = await this.visible(raw);
    const doomed = graph.entities.map((entity) => entity.name);
    if (doomed.length > 0) {
      const result = await this.send('delete_entities', { entityNames: doomed });
      if (isError(result)) return this.stripError(result);
      // the server drops the entities' relations too; their labels go with them
      const gone = new Set(doomed);
      const relations = raw.relations.filter((relation) => gone.has(relation.from) || gone.has(relation.to));
      await this.index.remove([
        ...graph.entities.flatMap((entity) => [
          entityKey(entity.name),
          ...entity.observations.map((text) => observationKey(entity.name, text)),
        ]),
        ...relations.map(relationKey),
      ]);
    }
    return respond({ success: true, message: 'Entities deleted successfully' });
  }

  async deleteObservations(args: Record<string, unknown>): Promise<unknown> {
    const deletions = listOf(args.deletions, 'deletions', isObservationDeletion).map((deletion) => ({
      entityName: this.stored(deletion.entityName),
      observations: deletion.observations,
    }));
    const graph = await this.visible(
      graphOf(await this.send('open_nodes', { names: deletions.map((deletion) => deletion.entityName) })),
    );
    const allowed = deletions
      .map((deletion) => {
        const entity = graph.entities.find((candidate) => candidate.name === deletion.entityName);
        const visible = new Set(entity?.observations ?? []);
        return {
          entityName: deletion.entityName,
          observations: deletion.observations.filter((text) => visible.has(text)),
        };
      })
      .filter((deletion) => deletion.observations.length > 0);
    if (allowed.length > 0) {
      const result = await this.send('delete_observations', { deletions: allowed });
      if (isError(result)) return this.stripError(result);
      await this.index.remove(
        allowed.flatMap((deletion) =>
          deletion.observations.map((text) => observationKey(deletion.entityName, text)),
        ),
      );
    }
    return respond({ success: true, message: 'Observations deleted successfully' });
  }

  async deleteRelations(args: Record<string, unknown>): Promise<unknown> {
    const relations = listOf(args.relations, 'relations', isRelation).map((relation) => ({
      ...relation,
      from: this.stored(relation.from),
      to: this.stored(relation.to),
    }));
    const labels = await this.index.get(relations.map(relationKey));
    const allowed = relations.filter((relation) => this.visibleLabel(labels.get(relationKey(relation))));
    if (allowed.length > 0) {
      const result = await this.send('delete_relations', { relations: allowed });
      if (isError(result)) return this.stripError(result);
      await this.index.remove(allowed.map(relationKey));
    }
    return respond({ success: true, message: 'Relations deleted successfully' });
  }

  async readGraph(): Promise<unknown> {
    return respond(this.shownGraph(await this.visible(graphOf(await this.send('read_graph', {})))));
  }

  async searchNodes(args: Record<string, unknown>): Promise<unknown> {
    if (typeof args.query !== 'string') throw new Error('search_nodes needs a string `query`');
    const query = args.query.toLowerCase();
    const graph = await this.visible(graphOf(await this.send('search_nodes', { query: args.query })));
    // the server matched on everything it stores: match again on what this reader may see, so that a
    // hidden observation cannot make its entity show up (and so confirm what it says)
    const entities = graph.entities.filter(
      (entity) =>
        this.shown(entity.name).toLowerCase().includes(query) ||
        entity.entityType.toLowerCase().includes(query) ||
        entity.observations.some((text) => text.toLowerCase().includes(query)),
    );
    const names = new Set(entities.map((entity) => entity.name));
    const relations = graph.relations.filter(
      (relation) => names.has(relation.from) || names.has(relation.to),
    );
    return respond(this.shownGraph({ entities, relations }));
  }

  async openNodes(args: Record<string, unknown>): Promise<unknown> {
    const names = listOf(args.names, 'names', isString).map((name) => this.stored(name));
    return respond(this.shownGraph(await this.visible(graphOf(await this.send('open_nodes', { names })))));
  }

  /** The part of a graph this reader may see: own tenant, visible labels, not expired. */
  private async visible(graph: Graph): Promise<Graph> {
    const own = graph.entities.filter((entity) => entity.name.startsWith(this.prefix));
    const keys: string[] = [];
    for (const entity of own) {
      keys.push(entityKey(entity.name));
      for (const text of entity.observations) keys.push(observationKey(entity.name, text));
    }
    const ownRelations = graph.relations.filter(
      (relation) => relation.from.startsWith(this.prefix) && relation.to.startsWith(this.prefix),
    );
    for (const relation of ownRelations)
      keys.push(relationKey(relation), entityKey(relation.from), entityKey(relation.to));
    const labels = await this.index.get(keys);
    const entities = own
      .filter((entity) => this.visibleLabel(labels.get(entityKey(entity.name))))
      .map((entity) => ({
        name: entity.name,
        entityType: entity.entityType,
        observations: entity.observations.filter((text) =>
          this.visibleLabel(labels.get(observationKey(entity.name, text))),
        ),
      }));
    const names = new Set(entities.map((entity) => entity.name));
    // as the server does: relations touching a returned entity, but only between entities this reader sees
    const relations = ownRelations.filter(
      (relation) =>
        (names.has(relation.from) || names.has(relation.to)) &&
        this.visibleLabel(labels.get(relationKey(relation))) &&
        this.visibleLabel(labels.get(entityKey(relation.from))) &&
        this.visibleLabel(labels.get(entityKey(relation.to))),
    );
    return { entities, relations };
  }

  private visibleLabel(label: MemoryLabel | undefined): boolean {
    if (label === undefined || label.tenant !== this.reader.tenant) return false;
    if (this.settings.retention !== undefined && label.at + this.settings.retention <= this.now) return false;
    if (this.settings.share === 'owner')
      return label.owner !== undefined && label.owner === this.reader.owner;
    if (this.settings.share === 'agent') return label.agent === this.reader.agent;
    return true;
  }

  private async requireVisibleEntities(stored: readonly string[]): Promise<void> {
    const unique = [...new Set(stored)];
    const labels = await this.index.get(unique.map(entityKey));
    for (const name of unique) {
      if (!this.visibleLabel(labels.get(entityKey(name))))
        throw new Error(`Entity with name ${this.shown(name)} not found`);
    }
  }

  private labelled(key: string): LabelledKey {
    const { tenant, agent, owner } = this.reader;
    return { key, label: { tenant, agent, at: this.now, ...(owner !== undefined ? { owner } : {}) } };
  }

  private stored(name: string): string {
    return `${this.prefix}${name}`;
  }

  private shown(stored: string): string {
    return stored.startsWith(this.prefix) ? stored.slice(this.prefix.length) : stored;
  }

  private shownEntity(entity: Entity): Entity {
    return {
      name: this.shown(entity.name),
      entityType: entity.entityType,
      observations: entity.observations,
    };
  }

  private shownRelation(relation: Relation): Relation {
    return {
      from: this.shown(relation.from),
      to: this.shown(relation.to),
      relationType: relation.relationType,
    };
  }

  private shownGraph(graph: Graph): Graph {
    return {
      entities: graph.entities.map((entity) => this.shownEntity(entity)),
      relations: graph.relations.map((relation) => this.shownRelation(relation)),
    };
  }

  /** An error from the server, without this tenant's name prefix (other tenants' names never get here). */
  private stripError(result: { content?: unknown }): unknown {
    const text = textOf(result).split(this.prefix).join('');
    return { isError: true, content: [{ type: 'text', text }] };
  }
}

function respond(value: object): unknown {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value };
}

function isError(result: unknown): result is { isError: true; content?: unknown } {
  return typeof result === 'object' && result !== null && (result as { isError?: unknown }).isError === true;
}

function checkResult(result: unknown): void {
  if (isError(result)) throw new Error(`memory server refused: ${textOf(result)}`);
}

function textOf(result: { content?: unknown }): string {
  const content = Array.isArray(result.content) ? result.content : [];
  return content.map((part) => (typeof part?.text === 'string' ? part.text : '')).join('');
}

/** The structured result, or the JSON in its text content (older servers). */
function structured(result: unknown): Record<string, unknown> {
  if (typeof result !== 'object' || result === null) throw new Error('memory server returned no result');
  const value = (result as { structuredContent?: unknown }).structuredContent;
  if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  const parsed: unknown = JSON.parse(textOf(result as { content?: unknown }));
  if (typeof parsed !== 'object' || parsed === null) throw new Error('memory server returned no object');
  return parsed as Record<string, unknown>;
}

function graphOf(result: unknown): Graph {
  if (isError(result)) throw new Error(`memory server refused: ${textOf(result)}`);
  const value = structured(result);
  return {
    entities: listOf(value.entities ?? [], 'entities', isEntity),
    relations: listOf(value.relations ?? [], 'relations', isRelation),
  };
}

function listOf<T>(value: unknown, name: string, check: (item: unknown) => item is T): T[] {
  if (!Array.isArray(value) || !value.every(check))
    throw new Error(`\`${name}\` is not a list of the expected shape`);
  return value;
}

const isString = (value: unknown): value is string => typeof value === 'string';
const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every(isString);
function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
const isEntity = (value: unknown): value is Entity =>
  isObject(value) && isString(value.name) && isString(value.entityType) && isStringList(value.observations);
const isRelation = (value: unknown): value is Relation =>
  isObject(value) && isString(value.from) && isString(value.to) && isString(value.relationType);
const isObservationAddition = (value: unknown): value is { entityName: string; contents: string[] } =>
  isObject(value) && isString(value.entityName) && isStringList(value.contents);
const isAddedObservations = (value: unknown): value is { entityName: string; addedObservations: string[] } =>
  isObject(value) && isString(value.entityName) && isStringList(value.addedObservations);
const isObservationDeletion = (value: unknown): value is { entityName: string; observations: string[] } =>
  isObject(value) && isString(value.entityName) && isStringList(value.observations);
