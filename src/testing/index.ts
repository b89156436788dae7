export {
  type AdapterHarness,
  runAdapterScenarios,
  SCENARIO_ORIGIN,
} from "./adapter-scenarios.js";
export { type OutageControl, runStoreConformance, type StoreHarness } from "./store-conformance.js";
