import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageRecord } from '../../src/domain/types.js';
import { makeConversation, makeImage, makeMessage } from '../support/factories.js';
import { startTestServer, type TestServer } from '../support/server.js';

/**
 * Issue #11 point 9, mutation 4, end to end: RESTORE_ALLOWED_HOSTS=ibb.co,i.ibb.co. A /files
 * link whose local file is gone redirects to the stored cloud URL only when that URL's host is
 * one of the list, whole: a suffix match would send the browser to `evilibb.co`. The redirect
 * is not followed, so no request leaves the machine whatever the outcome.
 */

const ALLOWED = ['https://i.ibb.co/aB3/photo.jpg', 'https://ibb.co/aB3/photo.jpg'];
const REFUSED = [
  'https://evilibb.co/aB3/photo.jpg',
  'https://xibb.co/aB3/photo.jpg',
  'https://ibb.co.evil.com/aB3/photo.jpg',
  'https://evili.ibb.co/aB3/photo.jpg',
];

let server: TestServer;
const byUrl = new Map<string, ImageRecord>();
beforeAll(async () => {
  server = await startTestServer({ env: { RESTORE_ALLOWED_HOSTS: 'ibb.co, i.ibb.co' } });
  const store = server.app.core.store;
  const conversation = makeConversation();
  await store.createConversation(conversation);
  const message = makeMessage(conversation);
  // Replicated images whose local file is missing (a lost disk): /files answers for the cloud copy.
  message.images = [...ALLOWED, ...REFUSED].map((cloudUrl) => {
    const image = makeImage(message, {
      cloudUrl,
      service: 'IMGBB',
      replication: { status: 'REPLICATED', attempts: 1 },
    });
    byUrl.set(cloudUrl, image);
    return image;
  });
  await store.addMessage(message);
});
afterAll(async () => {
  await server.stop();
});

const open = (url: string) => fetch(server.app.core.urls.url(byUrl.get(url)!.localKey!), { redirect: 'manual' });

describe('the /files redirect to a cloud copy checks the host whole (RESTORE_ALLOWED_HOSTS)', () => {
  it.each(ALLOWED)('redirects to %s', async (url) => {
    const res = await open(url);
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(url);
  });

  it.each(REFUSED)('does not redirect to %s', async (url) => {
    const res = await open(url);
    expect(res.status).toBe(404);
    expect(res.headers.get('location')).toBeNull();
  });
});
