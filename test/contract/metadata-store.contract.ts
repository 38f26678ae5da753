import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetadataStore } from '../../src/metadata/metadata-store.js';
import { makeConversation, makeImage, makeMessage } from '../support/factories.js';
import { conversationCases } from './conversations.contract.js';
import { budgetCases } from './budgets.contract.js';
import { changeCases } from './changes.contract.js';
import { deletionCases } from './deletions.contract.js';
import { imageCases } from './images.contract.js';
import { replicationCases } from './replication.contract.js';

export type StoreFactory = () => Promise<{ store: MetadataStore; cleanup: () => Promise<void> }>;

/** The store of the running test; cases read `ref.store` inside `it`, after beforeEach set it. */
export interface StoreRef {
  store: MetadataStore;
}

/**
 * The behaviour every MetadataStore adapter must show. `makeStore` returns a fresh, empty and
 * not yet initialised store for each test; the suite calls init() and, afterwards, close()
 * and then `cleanup` (which removes the file or drops the database).
 */
export function metadataStoreContract(name: string, makeStore: StoreFactory): void {
  describe(name, () => {
    const ref = {} as StoreRef;
    let cleanup: () => Promise<void> = async () => {};

    beforeEach(async () => {
      const made = await makeStore();
      ref.store = made.store;
      cleanup = made.cleanup;
      await ref.store.init();
    });

    afterEach(async () => {
      await ref.store.close();
      await cleanup();
    });

    describe('lifecycle', () => {
      it('answers ping once initialised', async () => {
        await expect(ref.store.ping()).resolves.toBeUndefined();
      });

      it('init() is idempotent and keeps the data', async () => {
        const conversation = makeConversation();
        const message = makeMessage(conversation, { images: [] });
        const image = makeImage(message);
        await ref.store.createConversation(conversation);
        await ref.store.addMessage({ ...message, images: [image] });

        await ref.store.init();
        await ref.store.init();

        expect(await ref.store.getConversationsByIds([conversation.id])).toEqual([
          { ...conversation, updatedAt: message.createdAt },
        ]);
        expect(await ref.store.getMessagesByIds([message.id])).toEqual([{ ...message, images: [image] }]);
      });

      it('close() may be called twice', async () => {
        await ref.store.close();
        await expect(ref.store.close()).resolves.toBeUndefined();
      });
    });

    describe('conversations and messages', () => conversationCases(ref));
    describe('images', () => imageCases(ref));
    describe('replication queue', () => replicationCases(ref));
    describe('deletions', () => deletionCases(ref));
    describe('provider budgets', () => budgetCases(ref));
    describe('change log', () => changeCases(ref));
  });
}
