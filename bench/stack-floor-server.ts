/**
 * The floor of the HTTP stack alone, for bench/upload.ts: Express 5, graphql-upload-minimal and
 * Apollo Server 5 (the stack the project is built on), serving one `uploadImage` mutation of the
 * same shape, whose resolver reads the file into memory and answers its size. No processing, no
 * files written, no record, no auth, no type-graphql, no logging: what any upload over this stack
 * costs before the server does anything with the image. Run as its own process, on PORT, on the
 * server's own Node HTTP server (src/http/node-server.ts: its timeouts and its answer to requests
 * that do not parse).
 *
 * With STACK_FLOOR_FILES set (a folder), the resolver then does the floor's work on the bytes
 * (bench/floor-work.ts: probe, processing, the durable writes into that folder): the best an
 * upload server on this stack could do, with nothing of this project's own around the image.
 */
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { GraphQLUpload, graphqlUploadExpress, type FileUpload } from 'graphql-upload-minimal';
import { createNodeServer } from '../src/http/node-server.js';
import { floorWork } from './floor-work.js';

const filesDir = process.env['STACK_FLOOR_FILES'];
const work = filesDir ? await floorWork(filesDir) : null;

const typeDefs = `#graphql
  scalar Upload
  input UploadImageInput { file: Upload!, conversationId: ID!, waitForCloud: Boolean }
  type Image { id: ID!, size: Int! }
  type UploadImagePayload { image: Image! }
  type Query { ok: Boolean! }
  type Mutation { uploadImage(input: UploadImageInput!): UploadImagePayload! }
`;

const resolvers = {
  Upload: GraphQLUpload,
  Query: { ok: () => true },
  Mutation: {
    uploadImage: async (_: unknown, { input }: { input: { file: Promise<FileUpload> } }) => {
      const chunks: Buffer[] = [];
      for await (const chunk of (await input.file).createReadStream()) chunks.push(chunk as Buffer);
      const bytes = Buffer.concat(chunks);
      return { image: { id: 'x', size: work ? (await work.processAndWrite(bytes)).size : bytes.length } };
    },
  },
};

const apollo = new ApolloServer({ typeDefs, resolvers, csrfPrevention: true });
await apollo.start();
const app = express();
app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});
app.use(
  '/graphql',
  graphqlUploadExpress({ maxFileSize: 100 * 1024 * 1024, maxFiles: 1 }),
  express.json(),
  expressMiddleware(apollo),
);
// The server's own Node server, with its timeouts: with Node's 5 s keep-alive the bench's client
// could send on a socket this process was closing while the other contenders took their turn.
const server = createNodeServer();
server.on('request', app);
server.listen(Number(process.env['PORT']), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
