import { describeModel } from "./run.js";

describeModel("memory");
