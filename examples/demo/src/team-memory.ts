/**
 * @module examples/demo/team-memory
 * The demo's shared assistant memory: a small in-process knowledge graph that answers the tool calls of
 * `@modelcontextprotocol/server-memory` (entities with observations, substring search) with the same
 * result shapes. The demo runs from an installed package, where the real server (a development
 * dependency) is absent; the gateway tests run the real one.
 */
import type { ToolExecutor } from 'reins';

interface Entity {
  name: string;
  entityType: string;
  observations: string[];
}

export class TeamMemory {
  private readonly entities: Entity[] = [];

  /** Everything stored, as one text (what a look at the memory file would show). */
  dump(): string {
    return JSON.stringify(this.entities);
  }

  /** Answers one memory tool call like server-memory does. */
  async call(tool: string, args: Record<string, unknown>): Promise<unknown> {
    switch (tool) {
      case 'create_entities': {
        const created = (args.entities as Entity[]).filter(
          (entity) => !this.entities.some((existing) => existing.name === entity.name),
        );
        this.entities.push(
          ...created.map((entity) => ({ ...entity, observations: [...entity.observations] })),
        );
        return result({ entities: created });
      }
      case 'search_nodes': {
        const query = String(args.query).toLowerCase();
        const found = this.entities.filter(
          (entity) =>
            entity.name.toLowerCase().includes(query) ||
            entity.entityType.toLowerCase().includes(query) ||
            entity.observations.some((text) => text.toLowerCase().includes(query)),
        );
        return result({ entities: found, relations: [] });
      }
      case 'read_graph':
        return result({ entities: this.entities, relations: [] });
      case 'open_nodes': {
        const names = args.names as string[];
        return result({
          entities: this.entities.filter((entity) => names.includes(entity.name)),
          relations: [],
        });
      }
      default:
        throw new Error(`the demo memory has no tool \`${tool}\``);
    }
  }

  /** Executors by tool name, calling the memory directly (without Reins). */
  tools(): Record<string, ToolExecutor> {
    const names = ['create_entities', 'search_nodes', 'read_graph', 'open_nodes'];
    return Object.fromEntries(
      names.map((name) => [name, (args: Record<string, unknown>) => this.call(name, args)]),
    );
  }
}

function result(value: object): unknown {
  return { content: [{ type: 'text', text: JSON.stringify(value, null, 2) }], structuredContent: value };
}

/** The observations in a memory tool result (as an agent would read them). */
export function observationsIn(output: unknown): string[] {
  const value = (output as { structuredContent?: { entities?: Entity[] } } | undefined)?.structuredContent;
  return (value?.entities ?? []).flatMap((entity) => entity.observations);
}
