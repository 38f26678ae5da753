import { createParameterDecorator } from 'type-graphql';
import { requireViewer } from '../domain/viewer.js';
import type { GraphQLContext } from './context.js';

/**
 * The caller of the operation, resolved before the resolver runs: without credentials the
 * field fails with UNAUTHENTICATED and its resolver is never called. Not for a mutation that
 * receives uploads: a refused upload must still drain its file streams, so those resolvers call
 * requireViewer inside their own try/finally.
 */
export function CurrentViewer(): ReturnType<typeof createParameterDecorator> {
  return createParameterDecorator<GraphQLContext>(({ context }) => requireViewer(context.viewer));
}
