import { describeModel } from "./run.js";

describeModel("sqlite");
