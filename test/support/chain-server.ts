import { startChainEmulators, type Emulator } from './emulators.js';
import { startTestServer, type TestServer } from './server.js';

/** A test server whose chain is `postimages,imgbb` on emulators of both, with `env` on top. */
export async function startChainServer(
  env: Record<string, string> = {},
  o: Omit<NonNullable<Parameters<typeof startTestServer>[0]>, 'env'> = {},
): Promise<{ postimages: Emulator; imgbb: Emulator; server: TestServer; stop(): Promise<void> }> {
  const emulators = await startChainEmulators();
  const server = await startTestServer({ ...o, env: { ...emulators.env, ...env } });
  return {
    postimages: emulators.postimages,
    imgbb: emulators.imgbb,
    server,
    stop: async () => {
      await server.stop();
      await emulators.stop();
    },
  };
}
