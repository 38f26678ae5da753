import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLError,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { getArgumentValues } from 'graphql/execution/values.js';

/**
 * Root mutation fields one operation may hold. Aliases let one request repeat a mutation
 * (`a: uploadImage(...) b: uploadImage(...)` ...), which would multiply every per-call limit;
 * a chat client sends one mutation at a time, and ten leaves room for a small batch.
 */
export const MAX_MUTATION_FIELDS = 10;

/**
 * Refuses, before anything runs, a mutation operation with more than MAX_MUTATION_FIELDS root
 * fields or carrying more than `maxFiles` images in all. Every `uploadImage` counts as one image,
 * multipart or base64 alike (a base64 image costs the same work once decoded), and every
 * attachment of `postMessage` counts as one. Refused whole, so a request never half-happens.
 */
export function mutationLimitsPlugin(schema: GraphQLSchema, maxFiles: number): ApolloServerPlugin {
  const mutationType = schema.getMutationType();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, document, request }) {
          if (operation?.operation !== 'mutation' || !mutationType) return;
          const fragments = new Map(
            document.definitions
              .filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION)
              .map((d) => [d.name.value, d]),
          );
          const fields = rootFields(operation.selectionSet, fragments);
          if (fields.length > MAX_MUTATION_FIELDS) {
            throw new GraphQLError(
              `This operation holds ${fields.length} mutation fields; at most ${MAX_MUTATION_FIELDS} are accepted in one operation. Send them in separate requests.`,
              { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } },
            );
          }
          let images = 0;
          for (const node of fields) {
            const name = node.name.value;
            if (name === 'uploadImage') images += 1;
            else if (name === 'postMessage') images += attachmentCount(node);
          }
          if (images > maxFiles) {
            throw new GraphQLError(
              `This operation carries ${images} images; at most ${maxFiles} (MAX_FILES) are accepted in one request, counting every uploadImage (multipart or base64) and every postMessage attachment.`,
              { extensions: { code: 'PAYLOAD_TOO_LARGE', http: { status: 413 } } },
            );
          }

          function attachmentCount(node: FieldNode): number {
            const def = mutationType?.getFields()[node.name.value];
            if (!def) return 0;
            try {
              const args = getArgumentValues(def, node, request.variables ?? {});
              const list = (args['input'] as { images?: unknown } | undefined)?.images;
              return Array.isArray(list) ? list.length : 0;
            } catch {
              // Arguments that do not coerce are refused by execution with BAD_USER_INPUT.
              return 0;
            }
          }
        },
      };
    },
  };
}

/**
 * The root fields an operation selects, through fragments and inline fragments; @skip and
 * @include are not evaluated, so a skipped field still counts (an upper bound, never less).
 */
function rootFields(
  set: SelectionSetNode,
  fragments: Map<string, FragmentDefinitionNode>,
  seen = new Set<string>(),
): FieldNode[] {
  const out: FieldNode[] = [];
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) {
      if (s.name.value !== '__typename') out.push(s);
    } else if (s.kind === Kind.INLINE_FRAGMENT) {
      out.push(...rootFields(s.selectionSet, fragments, seen));
    } else {
      const f = fragments.get(s.name.value);
      // A fragment spread twice is counted twice (an upper bound: fields with the same
      // response key merge when run). A cycle is refused by validation before this.
      if (f && !seen.has(s.name.value))
        out.push(...rootFields(f.selectionSet, fragments, new Set([...seen, s.name.value])));
    }
  }
  return out;
}
