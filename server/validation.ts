// How request schemas are checked (Ajv, as Fastify's own compiler, with two differences).
//
// A JSON body is taken as sent: Fastify's default coerces types, so a `null` became 0 (an emptied threshold field was
// stored as 0, a level that never fires), "80" became 80 and `null` became false or "". Here each is refused, naming
// the field. Query strings and path parameters are text, and are coerced to their schema's types as before.
//
// A field a schema does not know is refused (400 naming it), not dropped: a typo must not pass silently. Fastify's
// default (removeAdditional) also strips the fields of one branch of a union while trying another
// (fastify/fastify#4160), which refused valid board tiles. Unions told apart by a property validate only the branch
// it names (boards/schema.ts).
import { Ajv, type Options } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';

// As @fastify/ajv-compiler's defaults (allErrors off: with it on, a crafted body costs unbounded work), but for the above.
const shared: Options = { useDefaults: true, removeAdditional: false, discriminator: true, addUsedSchema: false, allErrors: false };
const bodies = addFormats.default(new Ajv({ ...shared, coerceTypes: false }));
const texts = addFormats.default(new Ajv({ ...shared, coerceTypes: 'array' }));

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => (httpPart === 'body' ? bodies : texts).compile(schema);
