import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** What the client needs to know about a property: constraints checked before anything is sent. */
export interface PropertyInfo {
  name: string;
  type: string;
  maxLength?: number;
  nullable: boolean;
  creatable: boolean;
  updatable: boolean;
  filterable: boolean;
  /** c4c:extension-field="true": a field the tenant added (…_KUT, …_SDK) */
  extension: boolean;
}

export interface EntityTypeInfo {
  name: string;
  keys: string[];
  properties: Map<string, PropertyInfo>;
  /** navigation property → target entity type name (deep insert) */
  navigation: Map<string, string>;
}

export interface ServiceMetadata {
  namespace: string;
  entityTypes: Map<string, EntityTypeInfo>;
  /** entity set → entity type name (without namespace) */
  entitySets: Map<string, string>;
}

type Node = Record<string, unknown>;
const list = (v: unknown): Node[] => (v === undefined || v === null ? [] : Array.isArray(v) ? (v as Node[]) : [v as Node]);
const attr = (n: Node, name: string): string | undefined => {
  const v = n[`@_${name}`];
  return v === undefined ? undefined : String(v);
};
const local = (qualified: string | undefined): string => String(qualified ?? '').replace(/^.*\./, '');

/**
 * Read entity types (properties, keys, navigation properties), associations and entity sets from
 * an OData v2 $metadata document with fast-xml-parser. A document with a DTD or entity
 * declarations is refused (no entity expansion, ever); so is one that is not well-formed.
 */
export function parseMetadata(xml: string): ServiceMetadata {
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new Error('$metadata with a DTD or entity declarations is refused');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`$metadata is not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`);
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', removeNSPrefix: false, processEntities: false, parseAttributeValue: false, parseTagValue: false });
  const doc = parser.parse(xml) as Node;
  const edmx = (doc['edmx:Edmx'] ?? {}) as Node;
  const services = list(edmx['edmx:DataServices']);
  const schemas = services.flatMap((s) => list(s.Schema));
  const entityTypes = new Map<string, EntityTypeInfo>();
  const entitySets = new Map<string, string>();
  const associations = new Map<string, Map<string, string>>();
  let namespace = '';
  for (const schema of schemas) {
    namespace = namespace || attr(schema, 'Namespace') || '';
    for (const a of list(schema.Association)) {
      const ends = new Map<string, string>();
      for (const end of list(a.End)) ends.set(attr(end, 'Role') ?? '', local(attr(end, 'Type')));
      associations.set(attr(a, 'Name') ?? '', ends);
    }
  }
  for (const schema of schemas) {
    for (const t of list(schema.EntityType)) {
      const name = attr(t, 'Name');
      if (!name) continue;
      const keys = list((t.Key as Node | undefined)?.PropertyRef).map((k) => attr(k, 'Name') ?? '').filter(Boolean);
      const properties = new Map<string, PropertyInfo>();
      for (const p of list(t.Property)) {
        const pn = attr(p, 'Name');
        if (!pn) continue;
        const max = attr(p, 'MaxLength');
        properties.set(pn, {
          name: pn,
          type: attr(p, 'Type') ?? 'Edm.String',
          maxLength: max && /^\d+$/.test(max) ? Number(max) : undefined,
          nullable: attr(p, 'Nullable') !== 'false',
          creatable: attr(p, 'sap:creatable') !== 'false',
          updatable: attr(p, 'sap:updatable') !== 'false',
          filterable: attr(p, 'sap:filterable') !== 'false',
          extension: attr(p, 'c4c:extension-field') === 'true',
        });
      }
      const navigation = new Map<string, string>();
      for (const n of list(t.NavigationProperty)) {
        const nn = attr(n, 'Name');
        if (!nn) continue;
        // The association names the target type; C4C's ToRole is the target type's name, which
        // serves when the association is not part of the document (excerpts).
        const target = associations.get(local(attr(n, 'Relationship')))?.get(attr(n, 'ToRole') ?? '') ?? attr(n, 'ToRole') ?? '';
        navigation.set(nn, target);
      }
      entityTypes.set(name, { name, keys, properties, navigation });
    }
    for (const c of list(schema.EntityContainer)) {
      for (const s of list(c.EntitySet)) {
        const sn = attr(s, 'Name');
        const et = attr(s, 'EntityType');
        if (sn && et) entitySets.set(sn, local(et));
      }
    }
  }
  if (!entityTypes.size) throw new Error('$metadata has no entity types (is it an OData v2 $metadata document?)');
  return { namespace, entityTypes, entitySets };
}

let builtIn: ServiceMetadata | undefined;

/**
 * The IndividualCustomer part of a real C4C c4codataapi $metadata, shipped with the package: the
 * fallback when the tenant's own $metadata cannot be read.
 */
export function builtInMetadata(): ServiceMetadata {
  if (!builtIn) builtIn = parseMetadata(builtInMetadataXml());
  return builtIn;
}

export function builtInMetadataXml(): string {
  return readFileSync(join(__dirname, 'IndividualCustomer.metadata.xml'), 'utf8');
}

/** The entity type behind an entity set, if the metadata knows it. */
export function entityTypeOf(md: ServiceMetadata, entitySet: string): EntityTypeInfo | undefined {
  const typeName = md.entitySets.get(entitySet);
  return typeName ? md.entityTypes.get(typeName) : undefined;
}

export interface ValidationProblem {
  field: string;
  problem: 'required' | 'not-creatable' | 'unknown' | 'too-long' | 'not-an-entity';
  maxLength?: number;
}

/** Length as ABAP counts it: UTF-16 code units (an emoji outside the BMP counts 2). */
function abapLength(value: string): number {
  return value.length;
}

/**
 * Check an entity body for a create: required (non-nullable, creatable, not the key) present,
 * nothing non-creatable or unknown, strings within MaxLength in UTF-16 units (as ABAP counts),
 * and deep-insert navigation properties (an entity or a list of them) checked against their
 * target type when the metadata has it. Parent keys of a deep insert are filled by C4C.
 */
export function validateCreate(type: EntityTypeInfo, body: Record<string, unknown>, md?: ServiceMetadata, prefix = '', child = false): ValidationProblem[] {
  const problems: ValidationProblem[] = [];
  for (const [field, value] of Object.entries(body)) {
    if (field === '__metadata') continue;
    const p = type.properties.get(field);
    if (!p) {
      const target = type.navigation.get(field);
      if (target === undefined) {
        problems.push({ field: prefix + field, problem: 'unknown' });
        continue;
      }
      const items = Array.isArray(value) ? value : value && typeof value === 'object' && Array.isArray((value as { results?: unknown }).results) ? (value as { results: unknown[] }).results : [value];
      const targetType = md?.entityTypes.get(target);
      items.forEach((item, i) => {
        const at = `${prefix}${field}${Array.isArray(value) ? `[${i}]` : ''}.`;
        if (!item || typeof item !== 'object' || Array.isArray(item)) problems.push({ field: at.slice(0, -1), problem: 'not-an-entity' });
        else if (targetType) problems.push(...validateCreate(targetType, item as Record<string, unknown>, md, at, true));
      });
      continue;
    }
    if (!p.creatable) {
      problems.push({ field: prefix + field, problem: 'not-creatable' });
      continue;
    }
    if (typeof value === 'string' && p.maxLength !== undefined && abapLength(value) > p.maxLength) {
      problems.push({ field: prefix + field, problem: 'too-long', maxLength: p.maxLength });
    }
  }
  for (const p of type.properties.values()) {
    if (!p.nullable && p.creatable && !type.keys.includes(p.name) && !(child && /^Parent|^CustomerID$/.test(p.name))) {
      const v = body[p.name];
      if (v === undefined || v === null || v === '') problems.push({ field: prefix + p.name, problem: 'required' });
    }
  }
  return problems;
}

export function describeProblems(problems: ValidationProblem[]): string {
  return problems.map((p) => {
    switch (p.problem) {
      case 'required': return `${p.field} is required`;
      case 'not-creatable': return `${p.field} cannot be set on create`;
      case 'unknown': return `${p.field} is not a property of the entity in the tenant's $metadata`;
      case 'too-long': return `${p.field} is longer than ${p.maxLength} characters (UTF-16 units, as C4C counts)`;
      case 'not-an-entity': return `${p.field} must be an object (deep insert)`;
      default: return p.field;
    }
  }).join('; ');
}
