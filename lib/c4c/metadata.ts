import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What the client needs to know about a property: constraints checked before anything is sent. */
export interface PropertyInfo {
  name: string;
  type: string;
  maxLength?: number;
  nullable: boolean;
  creatable: boolean;
  updatable: boolean;
  filterable: boolean;
}

export interface EntityTypeInfo {
  name: string;
  keys: string[];
  properties: Map<string, PropertyInfo>;
}

export interface ServiceMetadata {
  namespace: string;
  entityTypes: Map<string, EntityTypeInfo>;
  /** entity set → entity type name (without namespace) */
  entitySets: Map<string, string>;
}

const ATTR = /([\w:.-]+)="([^"]*)"/g;

function attrs(tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of tag.matchAll(ATTR)) out[m[1]] = m[2];
  return out;
}

/**
 * Read entity types, properties and entity sets from an OData v2 $metadata document. A scanner of
 * the few elements needed (EntityType, Key/PropertyRef, Property, EntitySet), tolerant of the
 * rest: SAP's $metadata is large, and excerpts of it may be cut anywhere. It never expands
 * entities or follows references.
 */
export function parseMetadata(xml: string): ServiceMetadata {
  const namespace = /<Schema\b[^>]*?\bNamespace="([^"]+)"/.exec(xml)?.[1] ?? '';
  const entityTypes = new Map<string, EntityTypeInfo>();
  const typeRe = /<EntityType\b([^>]*)>([\s\S]*?)<\/EntityType>/g;
  for (const m of xml.matchAll(typeRe)) {
    const name = attrs(m[1]).Name;
    if (!name) continue;
    const body = m[2];
    const keys = [...body.matchAll(/<PropertyRef\b([^>]*)\/>/g)].map((k) => attrs(k[1]).Name).filter(Boolean);
    const properties = new Map<string, PropertyInfo>();
    for (const p of body.matchAll(/<Property\b([^>]*?)\/?>/g)) {
      const a = attrs(p[1]);
      if (!a.Name) continue;
      properties.set(a.Name, {
        name: a.Name,
        type: a.Type ?? 'Edm.String',
        maxLength: a.MaxLength && /^\d+$/.test(a.MaxLength) ? Number(a.MaxLength) : undefined,
        nullable: a.Nullable !== 'false',
        creatable: a['sap:creatable'] !== 'false',
        updatable: a['sap:updatable'] !== 'false',
        filterable: a['sap:filterable'] !== 'false',
      });
    }
    entityTypes.set(name, { name, keys, properties });
  }
  const entitySets = new Map<string, string>();
  for (const m of xml.matchAll(/<EntitySet\b([^>]*?)\/?>/g)) {
    const a = attrs(m[1]);
    if (a.Name && a.EntityType) entitySets.set(a.Name, a.EntityType.replace(/^.*\./, ''));
  }
  return { namespace, entityTypes, entitySets };
}

let builtIn: ServiceMetadata | undefined;

/**
 * The IndividualCustomer part of a real C4C c4codataapi $metadata, shipped with the package:
 * MaxLength, creatable and required constraints are checked before a request goes out.
 */
export function builtInMetadata(): ServiceMetadata {
  if (!builtIn) builtIn = parseMetadata(readFileSync(join(__dirname, 'IndividualCustomer.metadata.xml'), 'utf8'));
  return builtIn;
}

export function builtInMetadataXml(): string {
  return readFileSync(join(__dirname, 'IndividualCustomer.metadata.xml'), 'utf8');
}

export interface ValidationProblem {
  field: string;
  problem: 'required' | 'not-creatable' | 'unknown' | 'too-long';
  maxLength?: number;
}

/**
 * Check an entity body for a create: required (non-nullable, creatable, not the key) present,
 * nothing non-creatable or unknown, strings within MaxLength (counted in characters, as SAP does).
 */
export function validateCreate(type: EntityTypeInfo, body: Record<string, unknown>): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  for (const [field, value] of Object.entries(body)) {
    const p = type.properties.get(field);
    if (!p) {
      problems.push({ field, problem: 'unknown' });
      continue;
    }
    if (!p.creatable) {
      problems.push({ field, problem: 'not-creatable' });
      continue;
    }
    if (typeof value === 'string' && p.maxLength !== undefined && [...value].length > p.maxLength) {
      problems.push({ field, problem: 'too-long', maxLength: p.maxLength });
    }
  }
  for (const p of type.properties.values()) {
    if (!p.nullable && p.creatable && !type.keys.includes(p.name)) {
      const v = body[p.name];
      if (v === undefined || v === null || v === '') problems.push({ field: p.name, problem: 'required' });
    }
  }
  return problems;
}

export function describeProblems(problems: ValidationProblem[]): string {
  return problems.map((p) => {
    switch (p.problem) {
      case 'required': return `${p.field} is required`;
      case 'not-creatable': return `${p.field} cannot be set on create`;
      case 'unknown': return `${p.field} is not a property of the entity`;
      case 'too-long': return `${p.field} is longer than ${p.maxLength} characters`;
      default: return p.field;
    }
  }).join('; ');
}
