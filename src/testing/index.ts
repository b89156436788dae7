export { type OutageControl, runStoreConformance, type StoreHarness } from "./store-conformance.js";
