import { describeModel } from "./model/run.js";

describeModel("postgres");
