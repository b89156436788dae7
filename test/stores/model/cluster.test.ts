import { describe, it } from "vitest";
import { describeModel } from "./run.js";

// .ci/run starts a three-master Cluster and names it in SESSIONKIT_TEST_REDIS_CLUSTER.
const nodes = process.env.SESSIONKIT_TEST_REDIS_CLUSTER;
if (nodes) describeModel("cluster", { clusterUrl: `redis-cluster://${nodes}` });
else if (process.env.CI) {
  describe("model-based: Redis Cluster", () => {
    it("needs SESSIONKIT_TEST_REDIS_CLUSTER under CI", () => {
      throw new Error("SESSIONKIT_TEST_REDIS_CLUSTER is not set, and CI requires the Cluster runs");
    });
  });
} else
  console.warn("skipping the Cluster model runs: SESSIONKIT_TEST_REDIS_CLUSTER names no cluster");
