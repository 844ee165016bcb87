import { MemoryStore } from '../../src/storage/memory/memory_store.ts';
import { CAPABILITIES, runConformance } from './conformance.ts';

runConformance('memory', { open: async () => new MemoryStore(), capabilities: CAPABILITIES });
