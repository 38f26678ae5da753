import { ArgsType, Field, Int, ObjectType, type ClassType } from 'type-graphql';

@ObjectType({ description: 'Relay-style page information.' })
export class PageInfo {
  @Field(() => Boolean, { description: 'Whether more items follow this page.' })
  hasNextPage!: boolean;

  @Field(() => String, {
    nullable: true,
    description: 'Cursor of the last item of this page; pass it as `after` for the next page. Null on an empty page.',
  })
  endCursor!: string | null;
}

/**
 * `first` and `after` of every connection field; validated by pageArgs() in src/graphql/args.ts.
 * In this order, the order the schema has always listed them in.
 */
@ArgsType()
export class PageArgs {
  @Field(() => String, { nullable: true, description: 'endCursor of the previous page.' })
  after!: string | null;

  @Field(() => Int, { nullable: true, defaultValue: 20, description: '1 to 100 (default 20).' })
  first!: number | null;
}

export interface EdgeShape<T> {
  cursor: string;
  node: T;
}

export interface ConnectionShape<T> {
  edges: EdgeShape<T>[];
  pageInfo: PageInfo;
  totalCount: number;
}

/** Builds the `XEdge` and `XConnection` types of docs/api.md for a node type. */
export function connectionTypes<T extends object>(name: string, node: ClassType<T>, noun: string) {
  @ObjectType(`${name}Edge`, { description: `One ${noun} in a page, with its cursor.` })
  class Edge {
    @Field(() => String, { description: 'Opaque cursor of this item; pass it as `after` to read what follows.' })
    cursor!: string;

    @Field(() => node, { description: `The ${noun}.` })
    node!: T;
  }

  @ObjectType(`${name}Connection`, { description: `A page of ${noun}s.` })
  class Connection {
    @Field(() => [Edge], { description: `The ${noun}s of this page, in order.` })
    edges!: Edge[];

    @Field(() => PageInfo, { description: 'Whether another page follows, and the cursor to read it.' })
    pageInfo!: PageInfo;

    @Field(() => Int, { description: `How many ${noun}s match in all, across every page.` })
    totalCount!: number;
  }

  return { Edge, Connection };
}
