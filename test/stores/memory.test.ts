import { memoryStore } from "../../src/stores/memory/index.js";
import { runStoreConformance } from "../../src/testing/index.js";

runStoreConformance("memory", { create: () => memoryStore() });
