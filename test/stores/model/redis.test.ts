import { describeModel } from "./run.js";

describeModel("redis");
