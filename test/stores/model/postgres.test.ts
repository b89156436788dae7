import { describeModel } from "./run.js";

describeModel("postgres");
