// The Journal contract against the in-memory fake (test/fakes/memoryJournal.ts).
import { runJournalContract } from '../contract/journal.contract.js';
import { memoryJournal, memoryJournalStore } from '../fakes/memoryJournal.js';

runJournalContract('memory', async () => {
  const store = memoryJournalStore();
  return { open: async () => memoryJournal(store), teardown: async () => {} };
});
