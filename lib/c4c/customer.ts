import { C4CClient, C4CError, odataString } from './client';
import { builtInMetadata, describeProblems, validateCreate, type ServiceMetadata } from './metadata';

export interface CustomerRequest {
  /** default IndividualCustomerCollection */
  entitySet: string;
  /** the entity to create */
  body: Record<string, unknown>;
  /** look for an existing entity first (default true) */
  lookup: boolean;
  /** the property that identifies the follower (default LastName) */
  lookupField: string;
}

export interface CustomerResult {
  entity: Record<string, unknown>;
  created: boolean;
  customerId: string | undefined;
  objectId: string | undefined;
  /** how many entities matched the lookup (more than 1 = duplicates already in C4C) */
  matches: number;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Input the node can reject before anything is sent. */
export class C4CInputError extends C4CError {
  constructor(message: string) {
    super(message, 'C4C_INPUT');
    this.name = 'C4CInputError';
  }
}

/**
 * Find-or-create on top of the OData client. Lookup before create (`<field> eq '<value>'`, the
 * value escaped), validation against the metadata before any request, and for a create that may
 * or may not have reached C4C (timeout, reset, 502/504) a fresh lookup before trying again, so a
 * retry never makes a duplicate.
 */
export class CustomerService {
  constructor(private readonly client: C4CClient, private readonly metadata: ServiceMetadata = builtInMetadata(), private readonly ambiguousRetries = 2) {}

  validate(req: CustomerRequest): void {
    if (!IDENTIFIER.test(req.entitySet)) throw new C4CInputError(`invalid entity set name "${req.entitySet}"`);
    if (req.lookup) {
      if (!IDENTIFIER.test(req.lookupField)) throw new C4CInputError(`invalid lookup field name "${req.lookupField}"`);
      const v = req.body[req.lookupField];
      if (v === undefined || v === null || String(v).trim() === '') throw new C4CInputError(`the lookup field ${req.lookupField} has no value (is the OpenID missing?)`);
    }
    const typeName = this.metadata.entitySets.get(req.entitySet);
    const type = typeName ? this.metadata.entityTypes.get(typeName) : undefined;
    if (type) {
      const problems = validateCreate(type, req.body);
      if (problems.length) throw new C4CInputError(`invalid ${typeName}: ${describeProblems(problems)}`);
    }
  }

  async find(entitySet: string, field: string, value: string): Promise<{ entity: Record<string, unknown> | undefined; matches: number }> {
    const res = await this.client.get(entitySet, { $filter: `${field} eq ${odataString(value)}`, $top: '2' }, 'lookup');
    const list = Array.isArray(res.data) ? (res.data as Record<string, unknown>[]) : [];
    return { entity: list[0], matches: list.length };
  }

  async createOrFind(req: CustomerRequest): Promise<CustomerResult> {
    this.validate(req);
    const value = req.lookup ? String(req.body[req.lookupField]) : '';
    for (let attempt = 0; ; attempt++) {
      if (req.lookup) {
        const found = await this.find(req.entitySet, req.lookupField, value);
        if (found.entity) return result(found.entity, false, found.matches);
      }
      try {
        const res = await this.client.post(req.entitySet, req.body);
        const entity = (res.data && typeof res.data === 'object' && !Array.isArray(res.data) ? res.data : {}) as Record<string, unknown>;
        return result(entity, true, 0);
      } catch (err) {
        const e = err as C4CError;
        if (req.lookup && e instanceof C4CError && e.transient && attempt < this.ambiguousRetries) continue;
        throw err;
      }
    }
  }
}

function result(entity: Record<string, unknown>, created: boolean, matches: number): CustomerResult {
  const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
  return { entity, created, customerId: str(entity.CustomerID), objectId: str(entity.ObjectID), matches };
}
